use super::*;

#[test]
fn codes_are_unique_and_round_trip() {
    let mut seen = std::collections::HashSet::new();
    for code in ErrorCode::ALL {
        assert!(
            seen.insert(code.number()),
            "duplicate number {}",
            code.number()
        );
        assert_eq!(ErrorCode::from_number(code.number()), Some(*code));
    }
    assert_eq!(ErrorCode::from_number(0), None);
}

#[test]
fn published_numbers_never_move() {
    // Bindings and hosts hard-code these; a change here is a breaking change.
    let pinned: Vec<(String, u32)> = ErrorCode::ALL
        .iter()
        .map(|c| {
            (
                serde_json::to_value(c)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned(),
                c.number(),
            )
        })
        .collect();
    insta::assert_json_snapshot!(pinned);
}

#[test]
fn erp_errors_map_to_stable_codes_and_our_own_words() {
    use crate::erp::ErpError;
    let cases = [
        (ErpError::StaleVersion, ErrorCode::StaleVersion),
        (
            ErpError::ReadOnlyActivity {
                state: "Closed".into(),
            },
            ErrorCode::ReadOnlyActivity,
        ),
        (ErpError::Unauthorized, ErrorCode::Unauthorized),
        (ErpError::Forbidden, ErrorCode::Forbidden),
        (
            ErpError::Remote {
                status: 503,
                code: None,
                kind: None,
            },
            ErrorCode::RemoteUnavailable,
        ),
        (
            ErpError::Remote {
                status: 429,
                code: None,
                kind: None,
            },
            ErrorCode::Throttled,
        ),
        (
            ErpError::Malformed("activity Subject 'secret'".into()),
            ErrorCode::MalformedResponse,
        ),
    ];
    for (error, code) in cases {
        let public = PublicError::from(error);
        assert_eq!(public.code, code);
        assert!(!public.reason.contains("secret"), "{}", public.reason);
    }
    let public = PublicError::from(ErpError::Remote {
        status: 500,
        code: Some("E42 'Secret merger'".into()),
        kind: Some("ArgumentException".into()),
    });
    assert_eq!(public.code, ErrorCode::ErpError);
    assert_eq!(public.reason, "ERP.net reported an error (HTTP 500)");
    let public = PublicError::from(ErpError::Remote {
        status: 500,
        code: Some("1042".into()),
        kind: None,
    });
    assert_eq!(
        public.reason,
        "ERP.net reported an error (HTTP 500, code 1042)"
    );
}

#[test]
fn store_errors_do_not_leak_backend_text() {
    let err: PublicError =
        crate::host::StoreError::Backend("password=hunter2 at /var/db".into()).into();
    assert_eq!(err.code, ErrorCode::StoreFailure);
    assert!(!err.reason.contains("hunter2"));
    assert_eq!(
        err.to_string(),
        "store_failure (201): the host store failed"
    );
}
