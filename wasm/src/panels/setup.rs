//! The Setup panel's markup: enterprise company, location, time zone and conflict policy (only
//! the choices ERP.net and the core offer), a switch and Full refresh per job, the state banner
//! and the latest log.

use std::fmt::Write;

use crate::views::{HomeView, SetupOptions, SetupView, policy_label};

use super::html::{self, Choice, escape};

/// Everything Setup shows; parts that could not be read are `None`.
pub struct SetupData {
    pub setup: Option<SetupView>,
    pub options: Option<SetupOptions>,
    pub home: Option<HomeView>,
}

pub fn render(
    id: &str,
    data: &SetupData,
    error: Option<&crate::MsSyncError>,
    busy: bool,
) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<section class="mssync mssync-setup" aria-labelledby="{id}-title" aria-busy="{busy}"><h2 id="{id}-title">MsSync Setup</h2>"#
    );
    if let Some(home) = &data.home {
        html::state_banner(&mut out, id, &home.state, home.fix.as_deref());
    }
    html::error_alert(&mut out, error);
    let Some(setup) = &data.setup else {
        out.push_str("</section>");
        return out;
    };

    let companies = data
        .options
        .as_ref()
        .map(|o| o.companies.as_slice())
        .unwrap_or_default();
    let company_choices: Vec<Choice> = companies
        .iter()
        .map(|c| Choice {
            value: &c.id,
            label: &c.name,
        })
        .collect();
    let locations = companies
        .iter()
        .find(|c| {
            setup
                .company_id
                .as_deref()
                .is_some_and(|id| c.id.eq_ignore_ascii_case(id))
        })
        .map(|c| c.locations.as_slice())
        .unwrap_or_default();
    let location_choices: Vec<Choice> = locations
        .iter()
        .map(|l| Choice {
            value: &l.id,
            label: &l.name,
        })
        .collect();
    let zones = data
        .options
        .as_ref()
        .map(|o| o.time_zones.as_slice())
        .unwrap_or_default();
    let zone_choices: Vec<Choice> = zones
        .iter()
        .map(|z| Choice {
            value: &z.id,
            label: &z.display_name,
        })
        .collect();
    let selected_zone = zones
        .iter()
        .find(|z| z.display_name == setup.time_zone || z.id == setup.time_zone)
        .map(|z| z.id.as_str());
    let policies = data
        .options
        .as_ref()
        .map(|o| o.policies.as_slice())
        .unwrap_or_default();
    let policy_choices: Vec<Choice> = policies
        .iter()
        .map(|p| Choice {
            value: p,
            label: policy_label(p),
        })
        .collect();

    out.push_str(r#"<div class="mssync-fields">"#);
    html::select(
        &mut out,
        &format!("{id}-company"),
        "Enterprise company",
        "company",
        &company_choices,
        setup.company_id.as_deref(),
        "Choose a company",
    );
    html::select(
        &mut out,
        &format!("{id}-location"),
        "Location",
        "location",
        &location_choices,
        setup.location_id.as_deref(),
        "Choose a location",
    );
    html::select(
        &mut out,
        &format!("{id}-zone"),
        "Time zone",
        "zone",
        &zone_choices,
        selected_zone.or(Some(setup.time_zone.as_str())),
        &setup.time_zone,
    );
    html::select(
        &mut out,
        &format!("{id}-policy"),
        "When both sides changed",
        "policy",
        &policy_choices,
        Some(setup.policy.as_str()),
        "Choose a policy",
    );
    out.push_str("</div>");

    let _ = write!(
        out,
        r#"<h3 id="{id}-jobs-title">Jobs</h3><ul class="mssync-jobs" aria-labelledby="{id}-jobs-title">"#
    );
    for job in &setup.jobs {
        let job_id = escape(&job.job);
        let title = escape(&job.title);
        let _ = write!(
            out,
            r#"<li><button type="button" id="{id}-job-{job_id}" role="switch" aria-checked="{on}" data-action="job" data-job="{job_id}">{title}</button> <span aria-hidden="true">{shown}</span> <button type="button" id="{id}-refresh-{job_id}" data-action="full-refresh" data-job="{job_id}" aria-label="Full refresh of {title}">Full refresh</button>"#,
            on = job.enabled,
            shown = if job.enabled { "On" } else { "Off" },
        );
        if job.full_refresh_requested {
            out.push_str(r#" <span class="mssync-note">Full refresh at the next run</span>"#);
        }
        out.push_str("</li>");
    }
    out.push_str("</ul>");

    if let Some(home) = &data.home {
        let latest: Vec<String> = home.log.iter().rev().take(5).rev().cloned().collect();
        html::log(&mut out, id, &latest);
    }
    out.push_str("</section>");
    out
}
