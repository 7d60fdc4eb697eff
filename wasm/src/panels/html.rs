//! A little HTML writing: every text and attribute value goes through [`escape`], so names from
//! ERP.net or Microsoft 365 cannot inject markup.

use std::fmt::Write;

/// Escapes text for element content and double-quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One `<option>` of a select.
pub struct Choice<'a> {
    pub value: &'a str,
    pub label: &'a str,
}

/// A labelled `<select>`: `id` ties the label to it, `action` names what a change does.
pub fn select(
    out: &mut String,
    id: &str,
    label: &str,
    action: &str,
    choices: &[Choice<'_>],
    selected: Option<&str>,
    placeholder: &str,
) {
    let _ = write!(
        out,
        r#"<div class="mssync-field"><label for="{id}">{label}</label><select id="{id}" data-action="{action}">"#,
        label = escape(label),
    );
    if selected.is_none_or(|s| !choices.iter().any(|c| c.value.eq_ignore_ascii_case(s))) {
        let _ = write!(
            out,
            r#"<option value="" disabled selected>{}</option>"#,
            escape(placeholder)
        );
    }
    for choice in choices {
        let is_selected = selected.is_some_and(|s| choice.value.eq_ignore_ascii_case(s));
        let _ = write!(
            out,
            r#"<option value="{}"{}>{}</option>"#,
            escape(choice.value),
            if is_selected { " selected" } else { "" },
            escape(choice.label)
        );
    }
    out.push_str("</select></div>");
}

/// The state banner, read by screen readers when it changes. `data-state` is the state's kind
/// (`operational`, `error`, `throttled`, `disabled`) for styling.
pub fn state_banner(out: &mut String, id: &str, state: &str, fix: Option<&str>) {
    let kind = state_kind(state);
    let _ = write!(
        out,
        r#"<div id="{id}-state" class="mssync-state" role="status" aria-live="polite" data-state="{kind}"><strong>State:</strong> {}"#,
        escape(state)
    );
    if let Some(fix) = fix {
        let _ = write!(out, r#"<p class="mssync-fix">{}</p>"#, escape(fix));
    }
    out.push_str("</div>");
}

/// The kind of a Home state label: `Operational`, `Error: ...`, `Throttled until ...`, `Disabled`.
pub fn state_kind(state: &str) -> &'static str {
    if state.starts_with("Error") {
        "error"
    } else if state.starts_with("Throttled") {
        "throttled"
    } else if state.starts_with("Disabled") {
        "disabled"
    } else {
        "operational"
    }
}

/// The error of the last action, announced at once.
pub fn error_alert(out: &mut String, error: Option<&crate::MsSyncError>) {
    if let Some(error) = error {
        let _ = write!(
            out,
            r#"<p class="mssync-error" role="alert" data-code="{code}">Error {code}: {reason}</p>"#,
            code = error.code,
            reason = escape(&error.message)
        );
    }
}

/// The latest log lines, newest last as the core gives them.
pub fn log(out: &mut String, id: &str, lines: &[String]) {
    let _ = write!(
        out,
        r#"<h3 id="{id}-log-title">Latest log</h3><ol id="{id}-log" class="mssync-log" aria-labelledby="{id}-log-title">"#
    );
    if lines.is_empty() {
        out.push_str(r#"<li class="mssync-empty">Nothing yet.</li>"#);
    }
    for line in lines {
        let _ = write!(out, "<li>{}</li>", escape(line));
    }
    out.push_str("</ol>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn text_from_the_services_cannot_inject_markup() {
        assert_eq!(
            escape(r#"<img src=x onerror="alert('x')"> & co"#),
            "&lt;img src=x onerror=&quot;alert(&#39;x&#39;)&quot;&gt; &amp; co"
        );
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn a_select_without_a_valid_choice_shows_the_placeholder_selected() {
        let choices = [
            Choice {
                value: "a",
                label: "A",
            },
            Choice {
                value: "b",
                label: "B <b>",
            },
        ];
        let mut out = String::new();
        select(&mut out, "x", "Pick", "pick", &choices, None, "Choose…");
        assert!(out.contains(r#"<label for="x">Pick</label><select id="x" data-action="pick">"#));
        assert!(out.contains(r#"<option value="" disabled selected>Choose…</option>"#));
        assert!(out.contains(r#"<option value="b">B &lt;b&gt;</option>"#));

        let mut out = String::new();
        select(
            &mut out,
            "x",
            "Pick",
            "pick",
            &choices,
            Some("B"),
            "Choose…",
        );
        assert!(
            !out.contains("Choose…"),
            "a valid choice needs no placeholder"
        );
        assert!(
            out.contains(r#"<option value="b" selected>"#),
            "ids match case-insensitively"
        );
    }

    #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
    #[cfg_attr(not(target_arch = "wasm32"), test)]
    fn state_kinds_follow_the_labels() {
        assert_eq!(state_kind("Operational"), "operational");
        assert_eq!(state_kind("Error: Access denied"), "error");
        assert_eq!(state_kind("Throttled until 2026-11-28 10:00Z"), "throttled");
        assert_eq!(state_kind("Disabled"), "disabled");
    }
}
