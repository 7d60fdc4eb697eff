use chrono::{NaiveDate, NaiveTime};

use super::*;

fn z(name: &str) -> Zone {
    Zone::parse(name).unwrap()
}

fn local(text: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap()
}

fn utc(text: &str) -> DateTime<Utc> {
    local(text).and_utc()
}

#[test]
fn every_cldr_windows_zone_maps_to_iana_and_back() {
    let zones: Vec<WindowsZone> = windows_zones().collect();
    assert!(
        zones.len() > 130,
        "CLDR lists about 140 zones, got {}",
        zones.len()
    );
    for zone in &zones {
        let tz = windows_to_iana(zone.id).unwrap_or_else(|e| panic!("{}: {e}", zone.id));
        let back = tz
            .windows()
            .unwrap_or_else(|| panic!("{} -> {} has no Windows zone", zone.id, tz.iana_name()));
        assert_eq!(
            back.id,
            zone.id,
            "{} -> {} -> {}",
            zone.id,
            tz.iana_name(),
            back.id
        );
        assert_eq!(
            windows_to_iana(zone.display_name).unwrap(),
            tz,
            "by display name"
        );
    }
}

#[test]
fn zones_newer_than_the_crate_are_known_both_ways() {
    for (id, iana) in [
        ("British Columbia Standard Time", "America/Vancouver"),
        ("Alberta Standard Time", "America/Edmonton"),
        ("Manitoba Standard Time", "America/Winnipeg"),
    ] {
        assert_eq!(windows_to_iana(id).unwrap(), z(iana), "{id}");
        assert_eq!(z(iana).windows().unwrap().id, id);
        assert_eq!(z(iana).graph_name(), id);
        assert_eq!(windows_zones().filter(|w| w.id == id).count(), 1, "{id}");
    }
    // The zones they were split from keep their own ids.
    assert_eq!(
        z("America/Denver").windows().unwrap().id,
        "Mountain Standard Time"
    );
    assert_eq!(
        z("America/Chicago").windows().unwrap().id,
        "Central Standard Time"
    );
    let ids: Vec<&str> = windows_zones().map(|w| w.id).collect();
    let at = |id| ids.iter().position(|i| *i == id).unwrap();
    assert!(at("Pacific Standard Time") < at("British Columbia Standard Time"));
    assert!(at("British Columbia Standard Time") < at("Mountain Standard Time (Mexico)"));
}

/// `MSSYNC_CLDR_WINDOWS_TZ`: a copy of tzlocal's `windows_tz.py` (CLDR's Windows-zone table,
/// the newest the registries carry; tests/run.sh downloads it from PyPI). Every Windows zone
/// in it must be known here and map to an IANA zone with the same rules as CLDR's.
#[test]
fn every_windows_zone_of_the_newest_cldr_table_is_known_with_the_same_rules() {
    let Some(path) = std::env::var_os("MSSYNC_CLDR_WINDOWS_TZ") else {
        println!("MSSYNC_CLDR_WINDOWS_TZ is not set: the comparison with CLDR is skipped");
        return;
    };
    let text = std::fs::read_to_string(&path).expect("the CLDR table file");
    let block = text
        .split("win_tz = {")
        .nth(1)
        .and_then(|rest| rest.split('}').next())
        .expect("a win_tz table");
    let table: Vec<(String, String)> = block
        .lines()
        .filter_map(|line| {
            let mut quoted = line.split('"').skip(1).step_by(2);
            Some((quoted.next()?.to_owned(), quoted.next()?.to_owned()))
        })
        .collect();
    assert!(table.len() >= 139, "{} zones read", table.len());
    let mut problems = Vec::new();
    for (windows, iana) in &table {
        let ours = match windows_to_iana(windows) {
            Ok(zone) => zone,
            Err(_) => {
                problems.push(format!("{windows}: unknown"));
                continue;
            }
        };
        let Ok(theirs) = Tz::from_str(iana).map(Zone) else {
            problems.push(format!(
                "{windows}: CLDR's {iana} is not in the tz database"
            ));
            continue;
        };
        // Same rules: the same offset every day from 2000 to 2037.
        let start = DateTime::from_timestamp(946_684_800, 0).expect("2000-01-01");
        let differs = (0..38 * 366)
            .map(|day| start + Duration::days(day))
            .find(|t| ours.offset_at(*t) != theirs.offset_at(*t));
        if let Some(t) = differs {
            problems.push(format!(
                "{windows}: ours {} and CLDR's {iana} differ at {t}",
                ours.iana_name()
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    println!("{} Windows zones of CLDR checked", table.len());
}

#[test]
fn setup_display_names_come_from_cldr() {
    let fle = windows_zone("FLE Standard Time").unwrap();
    assert_eq!(
        fle.display_name,
        "(UTC+02:00) Helsinki, Kyiv, Riga, Sofia, Tallinn, Vilnius"
    );
    // CLDR's default ("001") zone for FLE is the tzdb name Europe/Kiev.
    assert_eq!(parse_zone(fle.display_name).unwrap(), z("Europe/Kiev"));
    assert_eq!(z("Europe/Sofia").windows().unwrap().id, "FLE Standard Time");
    assert_eq!(
        z("America/New_York").windows().unwrap().id,
        "Eastern Standard Time"
    );
    assert_eq!(parse_zone("Europe/Sofia").unwrap(), z("Europe/Sofia"));
    assert_eq!(parse_zone("UTC").unwrap(), Zone::utc());
    assert!(matches!(
        parse_zone("Mars/Olympus"),
        Err(TimeZoneError::UnknownZone(_))
    ));
}

#[test]
fn wall_clock_is_kept_across_dst_in_sofia_and_new_york() {
    // A 09:00 meeting stays at 09:00 local on both sides of each 2026 change.
    let cases = [
        (z("Europe/Sofia"), "2026-03-28 09:00", "2026-03-28 07:00"), // EET +2
        (z("Europe/Sofia"), "2026-03-30 09:00", "2026-03-30 06:00"), // EEST +3
        (z("Europe/Sofia"), "2026-10-24 09:00", "2026-10-24 06:00"),
        (z("Europe/Sofia"), "2026-10-26 09:00", "2026-10-26 07:00"),
        (
            z("America/New_York"),
            "2026-03-07 09:00",
            "2026-03-07 14:00",
        ), // EST -5
        (
            z("America/New_York"),
            "2026-03-09 09:00",
            "2026-03-09 13:00",
        ), // EDT -4
        (
            z("America/New_York"),
            "2026-10-31 09:00",
            "2026-10-31 13:00",
        ),
        (
            z("America/New_York"),
            "2026-11-02 09:00",
            "2026-11-02 14:00",
        ),
    ];
    for (zone, wall, expected_utc) in cases {
        let instant = zone.to_instant(local(wall));
        assert_eq!(instant, utc(expected_utc), "{wall} in {zone}");
        let graph = GraphDateTime::from_instant(instant, &zone);
        assert_eq!(
            graph.date_time,
            format!("{}:00.0000000", wall.replace(' ', "T"))
        );
        assert_eq!(
            graph.to_instant(&Zone::utc()).unwrap(),
            instant,
            "round trip {wall}"
        );
    }
}

#[test]
fn skipped_hour_moves_forward_by_the_gap() {
    // Sofia skips 03:00-04:00 on 2026-03-29; New York skips 02:00-03:00 on 2026-03-08.
    let sofia = z("Europe/Sofia").to_instant(local("2026-03-29 03:30"));
    assert_eq!(z("Europe/Sofia").to_local(sofia), local("2026-03-29 04:30"));
    let ny = z("America/New_York").to_instant(local("2026-03-08 02:30"));
    assert_eq!(
        z("America/New_York").to_local(ny),
        local("2026-03-08 03:30")
    );
}

/// The offsets-only reading of local times (what the browser's `Intl` rules go through)
/// agrees with chrono-tz's own on every day a zone changes its offset, 2000-2037, in every
/// zone, at every quarter hour.
#[test]
fn local_times_read_from_offsets_match_the_tz_database_at_every_transition() {
    use chrono::{LocalResult, TimeZone};
    let expected = |tz: Tz, local: NaiveDateTime| match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(earlier, _) => Some(earlier.with_timezone(&Utc)),
        LocalResult::None => None,
    };
    let mut transitions = 0;
    for tz in chrono_tz::TZ_VARIANTS {
        let zone = Zone(tz);
        let mut day = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
        let last = NaiveDate::from_ymd_opt(2037, 12, 31).unwrap();
        let noon = |d: NaiveDate| {
            d.and_time(NaiveTime::from_hms_opt(12, 0, 0).unwrap())
                .and_utc()
        };
        while day < last {
            let next = day.succ_opt().unwrap();
            if zone.offset_at(noon(day)) != zone.offset_at(noon(next)) {
                transitions += 1;
                for quarter in 0..(2 * 24 * 4) {
                    let local = day.and_time(NaiveTime::MIN) + Duration::minutes(15 * quarter);
                    let got = zone.to_instant(local);
                    match expected(tz, local) {
                        Some(instant) => assert_eq!(got, instant, "{tz} {local}"),
                        // A skipped time lands past the gap by as much as it was into it.
                        None => assert!(
                            got > local.and_utc() - Duration::hours(16)
                                && zone.to_local(got) > local,
                            "{tz} {local}"
                        ),
                    }
                }
            }
            day = next;
        }
    }
    assert!(
        transitions > 5_000,
        "only {transitions} transitions checked"
    );
}

#[test]
fn repeated_hour_takes_the_earlier_instant() {
    // Sofia repeats 03:00-04:00 on 2026-10-25 (EEST then EET).
    let t = z("Europe/Sofia").to_instant(local("2026-10-25 03:30"));
    assert_eq!(t, utc("2026-10-25 00:30"));
    let t = z("America/New_York").to_instant(local("2026-11-01 01:30"));
    assert_eq!(t, utc("2026-11-01 05:30"));
}

#[test]
fn graph_date_times_in_windows_iana_utc_and_custom_zones() {
    let at = |date_time: &str, zone: &str| GraphDateTime {
        date_time: date_time.into(),
        time_zone: zone.into(),
    };
    let fallback = z("Europe/Sofia");
    assert_eq!(
        at("2026-06-01T10:00:00.0000000", "FLE Standard Time")
            .to_instant(&fallback)
            .unwrap(),
        utc("2026-06-01 07:00")
    );
    assert_eq!(
        at("2026-06-01T10:00:00", "America/New_York")
            .to_instant(&fallback)
            .unwrap(),
        utc("2026-06-01 14:00")
    );
    assert_eq!(
        at("2026-06-01T10:00:00.0000000", "UTC")
            .to_instant(&fallback)
            .unwrap(),
        utc("2026-06-01 10:00")
    );
    assert_eq!(
        at("2026-06-01T10:00:00.0000000", "tzone://Microsoft/Utc")
            .to_instant(&fallback)
            .unwrap(),
        utc("2026-06-01 10:00")
    );
    // Custom zones are read in the user's zone (the fallback), as documented.
    assert_eq!(
        at("2026-06-01T10:00:00.0000000", GRAPH_CUSTOM_ZONE)
            .to_instant(&fallback)
            .unwrap(),
        utc("2026-06-01 07:00")
    );
    assert!(matches!(
        at("yesterday", "UTC").to_instant(&fallback),
        Err(TimeZoneError::BadDateTime(_))
    ));
    let out = GraphDateTime::from_instant(utc("2026-06-01 07:00"), &z("Europe/Sofia"));
    assert_eq!(out.time_zone, "FLE Standard Time");
    assert_eq!(out.date_time, "2026-06-01T10:00:00.0000000");
}

#[test]
fn all_day_dates_survive_extreme_offsets() {
    let date = NaiveDate::from_ymd_opt(2026, 12, 31).unwrap();
    let next = date.succ_opt().unwrap();
    for zone in [
        z("Etc/GMT+12"),
        z("Pacific/Kiritimati"),
        z("Pacific/Apia"),
        Zone::utc(),
    ] {
        let (start, end) = all_day_to_instants(date, next, &zone);
        assert_eq!(end - start, chrono::Duration::days(1), "{zone}");
        assert_eq!(
            instants_to_all_day(start, end, &zone),
            Some((date, next)),
            "{zone}"
        );
        assert_eq!(
            GraphDateTime::all_day(date, &zone).date().unwrap(),
            date,
            "{zone}"
        );
    }
    // UTC-12 midnight is noon UTC: the same instants are not all-day for a UTC+14 user.
    let (start, end) = all_day_to_instants(date, next, &z("Etc/GMT+12"));
    assert_eq!(start, utc("2026-12-31 12:00"));
    assert_eq!(
        instants_to_all_day(start, end, &z("Pacific/Kiritimati")),
        None
    );
}

#[test]
fn all_day_spans_across_dst_and_rejections() {
    // The night clocks change is 23 or 25 hours long and still one all-day date.
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    let (start, end) = all_day_to_instants(d("2026-03-29"), d("2026-03-30"), &z("Europe/Sofia"));
    assert_eq!(end - start, chrono::Duration::hours(23));
    assert_eq!(
        instants_to_all_day(start, end, &z("Europe/Sofia")),
        Some((d("2026-03-29"), d("2026-03-30")))
    );
    let (start, end) = all_day_to_instants(d("2026-10-24"), d("2026-10-27"), &z("Europe/Sofia"));
    assert_eq!(end - start, chrono::Duration::hours(73));
    assert_eq!(
        instants_to_all_day(start, start, &z("Europe/Sofia")),
        None,
        "empty"
    );
    assert_eq!(
        instants_to_all_day(end, start, &z("Europe/Sofia")),
        None,
        "reversed"
    );
    assert_eq!(
        instants_to_all_day(start + chrono::Duration::hours(1), end, &z("Europe/Sofia")),
        None,
        "not at midnight"
    );
}
