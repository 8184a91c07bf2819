//! The files in `tests/configs/`: each breaks one rule; the diagnostics are exact.

use super::*;
use crate::config::{load_file, Strictness};

/// Loads `tests/configs/<name>` (normal or pedantic) and returns `line:col message` lines of
/// the errors, or panics when it loads.
fn errors(name: &str, pedantic: bool) -> Vec<String> {
    let path = configs_dir().join(name);
    let r = if pedantic {
        load_file(&path, Strictness::Pedantic)
    } else {
        load_file(&path, Strictness::Start)
    };
    match r {
        Ok(_) => panic!("{name} loaded without error"),
        Err(e) => {
            assert!(
                e.diagnostics.iter().all(|d| d.span.file.ends_with(name)
                    || d.span.file.to_string_lossy().ends_with(".inc")),
                "{e}"
            );
            // Messages that quote a resolved path: the checkout's folder is not part of the test.
            let dir = format!("{}/", configs_dir().display());
            short(&e.diagnostics)
                .into_iter()
                .map(|m| m.replace(&dir, "<configs>/"))
                .collect()
        }
    }
}

fn warnings(name: &str) -> Vec<String> {
    let path = configs_dir().join(name);
    short(
        &load_file(&path, Strictness::Start)
            .unwrap_or_else(|e| panic!("{e}"))
            .warnings,
    )
}

#[test]
fn errors_in_every_mode() {
    let cases: &[(&str, &[&str])] = &[
        ("unresolved_variable.conf", &["3:10 variable reference for 'MISSING_TOKEN_VAR' on line 3 can not be found"]),
        ("reserved_account_global.conf", &["2:4 \"$G\" is a Reserved Account"]),
        ("import_prefix_and_to.conf", &["3:70 Stream import can not have a 'prefix' and a 'to' property"]),
        ("import_prefix_wildcard.conf", &["3:66 stream import prefix can not contain wildcard tokens"]),
        ("invalid_permission_subject.conf", &["3:52 subject \"foo..bar\" is not a valid subject"]),
        ("unknown_subject_permission_field.conf", &["3:64 Unknown field name \"except\" parsing subject permissions, only 'allow' or 'deny' are permitted"]),
        ("unknown_permissions_field.conf", &["3:56 Unknown field \"admin\" parsing permissions"]),
        ("string_for_number.conf", &["1:14 invalid value for \"max_payload\": expected an integer (sizes may use suffixes such as 1MB), got a string \"lots\""]),
        ("negative_size.conf", &["1:13 invalid value for \"max_pending\": must not be negative, got -1048576"]),
        ("lexer_map_terminator.conf", &["3:8 Parse error on line 3: 'Expected a map value terminator \",\" or a map terminator \"}\", but got '2' instead.'"]),
        ("include_missing.conf", &["1:8 error parsing include file './does_not_exist.conf', open <configs>/does_not_exist.conf: no such file or directory"]),
        ("include_parent_variable.conf", &["2:23 error parsing include file './include_parent_variable_users.inc', variable reference for 'PW_VAR' on line 2 can not be found"]),
        ("multiple_errors.conf", &[
            "1:7 invalid value for \"port\": expected a port number, got a string \"x\"",
            "2:14 invalid value for \"max_payload\": must not be negative, got -1",
            "3:8 invalid value for \"debug\": expected a boolean (true/false/yes/no/on/off), got an integer 7",
            "4:1 invalid lame_duck_duration of 5s, minimum is 30 seconds",
            "5:27 User entry requires a user",
        ]),
        ("lame_duck_too_short.conf", &["1:0 invalid lame_duck_duration of 10s, minimum is 30 seconds"]),
        ("user_without_name.conf", &["1:26 User entry requires a user"]),
        ("bad_duration.conf", &["1:0 error parsing write_deadline: time: invalid duration \"ten seconds\""]),
        ("export_stream_and_service.conf", &["2:32 Detected service \"b\" but already saw a stream \"a\""]),
        ("export_unknown_response_type.conf", &["2:49 Unknown response type: \"sometimes\""]),
        ("mapping_bad_weight.conf", &["2:11 Invalid weight 101 for mapping destination"]),
        ("limits_unknown_field.conf", &["2:16 Unknown field \"max_bytes\" parsing account limits"]),
        ("allow_responses_expires_not_duration.conf", &["2:71 error parsing expires, not a duration string"]),
        ("unused_variable.conf", &["1:0 unknown field \"TOKEN\""]),
        ("unknown_top_level_field.conf", &["2:1 unknown field \"foo_unknown\""]),
        ("hcl_bare_identifier.hcl", &["1:8 HCL: bare identifier alice is not a value; quote strings (\"alice\")"]),
    ];
    let mut mismatches = Vec::new();
    for (name, want) in cases {
        for pedantic in [false, true] {
            let got = errors(name, pedantic);
            if got != *want {
                mismatches.push(format!("{name} (pedantic: {pedantic}): got {got:?}"));
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

#[test]
fn warnings_that_fail_pedantic() {
    let cases: &[(&str, &str)] = &[
        (
            "ping_interval_bare_int.conf",
            "1:0 ping_interval should be converted to a duration (e.g. \"30s\")",
        ),
        (
            "nonstandard_colon_key.conf",
            "2:3 non-standard config (key with ':' before a block)",
        ),
        (
            "nonstandard_brace_list.conf",
            "3:48 non-standard config (list written in braces)",
        ),
        (
            "nonstandard_users_map.conf",
            "3:5 non-standard config (users written as a map of blocks)",
        ),
        (
            "nonstandard_bare_allow.conf",
            "2:36 non-standard config ('allow'/'deny' directly under permissions)",
        ),
    ];
    for (name, want) in cases {
        let w = warnings(name);
        assert_eq!(w.len(), 1, "{name}: {w:?}");
        assert!(w[0].starts_with(want), "{name}: {w:?}");
        let e = errors(name, true);
        assert_eq!(e, w, "{name}");
    }
}

#[test]
fn every_file_in_the_folder_is_covered() {
    let mut names: Vec<String> = std::fs::read_dir(configs_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".conf") || n.ends_with(".hcl"))
        .collect();
    names.sort();
    for n in &names {
        let path = configs_dir().join(n);
        // A rule of the config language, or one of accounts and users (checked when they are compiled).
        let broken = match load_file(&path, Strictness::Pedantic) {
            Err(_) => true,
            Ok(l) => crate::auth::Auth::compile(&l.config, None).is_err(),
        };
        assert!(
            broken,
            "{n} passes pedantic mode; every file here must break a rule"
        );
    }
}
