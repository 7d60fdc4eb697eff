use super::argument_error_without_values;

#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)]
struct Args {
    enabled: bool,
    kind: Kind,
    name: String,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Host,
}

fn error_of(json: &str) -> String {
    let e = serde_json::from_str::<Args>(json).unwrap_err();
    argument_error_without_values(&e.to_string())
}

#[test]
fn argument_errors_keep_the_shape_and_drop_the_values() {
    for (json, secret) in [
        (
            r#"{"enabled": "hunter2", "kind": "host", "name": "x"}"#,
            "hunter2",
        ),
        (
            r#"{"enabled": true, "kind": "hunter2", "name": "x"}"#,
            "hunter2",
        ),
        (
            r#"{"enabled": true, "kind": "host", "name": 4242424242}"#,
            "4242424242",
        ),
        (
            r#"{"enabled": true, "kind": "host", "name": "x", "hunter2"#,
            "hunter2",
        ),
        (r#"hunter2"#, "hunter2"),
    ] {
        let text = error_of(json);
        assert!(!text.contains(secret), "{text}");
    }
    let text = error_of(r#"{"enabled": "hunter2", "kind": "host", "name": "x"}"#);
    assert!(
        text.contains("expected a boolean") && text.contains("line 1"),
        "{text}"
    );
    assert_eq!(
        error_of(r#"{"kind": "host", "name": "x"}"#),
        "missing field `enabled` at line 1 column 29"
    );
    assert_eq!(error_of("hunter2"), "not JSON at line 1 column 1");
}
