//! The Home panel's markup: who, the state, each job's Latest sync / Remote checkpoint / Local
//! checkpoint (in the user's zone, the UTC instant in `<time datetime>`) and last-run counts, the
//! latest log lines, and "Sync now" where allowed.

use std::fmt::Write;

use crate::time::{in_zone, iso_instant};
use crate::views::{CountsView, HomeView, JobView};

use super::html::{self, escape};

fn counts(c: &CountsView) -> String {
    format!(
        "{} created, {} updated, {} removed",
        c.created, c.updated, c.removed
    )
}

fn last_run(job: &JobView) -> String {
    let run = &job.last_run;
    if run.finished.is_none() {
        return "Not run yet".to_owned();
    }
    let mut text = format!(
        "To Outlook: {}. To ERP.net: {}.",
        counts(&run.to_outlook),
        counts(&run.to_erp)
    );
    if run.conflicts > 0 {
        let _ = write!(text, " Conflicts: {}.", run.conflicts);
    }
    if run.failed > 0 {
        let _ = write!(text, " Failed, to retry: {}.", run.failed);
    }
    let _ = write!(
        text,
        " {} requests in {} ms.",
        run.requests, run.duration_ms
    );
    text
}

/// A view's UTC time in the user's zone, with the instant itself for machines; `—` for none.
fn time(label: Option<&str>, zone: Option<&str>) -> String {
    match label {
        Some(label) => match iso_instant(label) {
            Some(instant) => format!(
                r#"<time datetime="{instant}">{}</time>"#,
                escape(&in_zone(label, zone))
            ),
            None => escape(label),
        },
        None => "—".to_owned(),
    }
}

/// Home. `zone` is the user's zone (IANA, from Setup), when known: times are shown in it.
pub fn render(
    id: &str,
    home: Option<&HomeView>,
    zone: Option<&str>,
    error: Option<&crate::MsSyncError>,
    busy: bool,
    allow_sync_now: bool,
) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<section class="mssync mssync-home" aria-labelledby="{id}-title" aria-busy="{busy}"><h2 id="{id}-title">MsSync</h2>"#
    );
    let Some(home) = home else {
        html::error_alert(&mut out, error);
        out.push_str("</section>");
        return out;
    };
    let _ = write!(
        out,
        r#"<dl class="mssync-who"><dt>Name</dt><dd id="{id}-name">{}</dd><dt>E-mail</dt><dd id="{id}-email">{}</dd></dl>"#,
        escape(&home.name),
        escape(&home.email)
    );
    html::state_banner(&mut out, id, &home.state, home.fix.as_deref());
    html::error_alert(&mut out, error);

    let _ = write!(
        out,
        r#"<table class="mssync-jobs" id="{id}-jobs"><caption>Jobs{caption}</caption><thead><tr><th scope="col">Job</th><th scope="col">State</th><th scope="col">Latest sync</th><th scope="col">Remote checkpoint</th><th scope="col">Local checkpoint</th><th scope="col">Kept current</th><th scope="col">Last run</th>"#,
        caption = match zone {
            Some(zone) => format!(
                r#" <span class="mssync-zone">(times in {})</span>"#,
                escape(zone)
            ),
            None => r#" <span class="mssync-zone">(times in UTC)</span>"#.to_owned(),
        },
    );
    if allow_sync_now {
        out.push_str(r#"<th scope="col"><span class="mssync-hidden">Action</span></th>"#);
    }
    out.push_str("</tr></thead><tbody>");
    for job in &home.jobs {
        let job_id = escape(&job.job);
        let _ = write!(
            out,
            r#"<tr data-job="{job_id}"><th scope="row">{title}</th><td data-field="state">{state}</td><td data-field="latest-sync">{latest}</td><td data-field="remote-checkpoint">{remote}</td><td data-field="local-checkpoint">{local}</td><td data-field="kept-current">{kept}</td><td data-field="last-run">{run}</td>"#,
            title = escape(&job.title),
            state = escape(&job.state),
            latest = time(job.latest_sync.as_deref(), zone),
            remote = time(job.remote_checkpoint.as_deref(), zone),
            local = time(job.local_checkpoint.as_deref(), zone),
            kept = escape(&job.kept_current),
            run = escape(&last_run(job)),
        );
        if allow_sync_now {
            let disabled = if job.enabled { "" } else { " disabled" };
            let _ = write!(
                out,
                r#"<td><button type="button" id="{id}-sync-{job_id}" data-action="sync" data-job="{job_id}" aria-label="Sync {title} now"{disabled}>Sync now</button></td>"#,
                title = escape(&job.title),
            );
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    html::log(&mut out, id, &home.log);
    out.push_str("</section>");
    out
}
