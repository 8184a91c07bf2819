//! Config checking through the binary: `-t` on every file in tests/configs/ fails with the expected
//! message at its position (the file names say what each breaks), `-t` on good configs (the corrected seed
//! of the seed config in standard form, NATS documentation examples) succeeds with `configuration file ... is valid`,
//! the seed file's four warnings, and an `.hcl` config end to end.

use crate::common::tenancy::*;
use crate::common::*;
use std::path::{Path, PathBuf};

fn configs_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/configs")
}

/// Runs `<binary> -t -c <path>`.
/// `-t -c <path>`; for corenats with `--pedantic`, so the seed dialect's constructs (which plain `-t`
/// passes with notes) are refused too and every file in the table is a bad one.
fn check_file(path: &std::path::Path) -> (Option<i32>, String) {
    let dir = TempDir::new();
    let mut args: Vec<String> = vec!["-t".into()];
    if is_corenats() {
        args.push("--pedantic".into());
    }
    args.extend(["-c".into(), path.to_string_lossy().into_owned()]);
    run_binary(&args, &dir)
}

/// One bad file: corenats' `file:line:col: message` lines (each must appear), and what nats-server says
/// (a substring of its output; `None` when nats-server accepts the file).
struct Bad {
    file: &'static str,
    corenats: &'static [&'static str],
    nats: Option<&'static str>,
}

/// `Bad::nats` for a file whose verdict on nats-server depends on Go map iteration order: not checked.
const MAP_ORDER: &str = "(depends on map order)";

const BAD: &[Bad] = &[
    Bad {
        file: "mixed_errors.conf",
        // A config error does not hide an accounts error: both in one run (nats-server reports both too).
        corenats: &[
            "mixed_errors.conf:2:8: invalid value for \"port\": expected a port number, got a string \"x\"",
            "mixed_errors.conf:5:17: Duplicate user \"a\" detected",
        ],
        nats: Some("Duplicate user \"a\" detected"),
    },
    Bad {
        file: "duplicate_user.conf",
        // nats-server points at the `users` key of whichever account it reads second (Go map order);
        // corenats at the later entry.
        corenats: &["duplicate_user.conf:3:17: Duplicate user \"a\" detected"],
        nats: Some("Duplicate user \"a\" detected"),
    },
    Bad {
        file: "single_user_with_accounts.conf",
        corenats: &["single_user_with_accounts.conf:1:0: Can not have a single user/pass and accounts"],
        // nats-server's text depends on Go map order ("... and accounts" or "... and a users array").
        nats: Some("Can not have a single user/pass and "),
    },
    Bad {
        file: "token_with_accounts.conf",
        corenats: &["token_with_accounts.conf:1:0: Can not have a token and accounts"],
        // nats-server's text depends on Go map order ("... and accounts" or "... and a users array").
        nats: Some("Can not have a token and "),
    },
    Bad {
        file: "allow_responses_expires_not_duration.conf",
        corenats: &["allow_responses_expires_not_duration.conf:2:71: error parsing expires, not a duration string"],
        nats: Some("error parsing expires, not a duration string"),
    },
    Bad {
        file: "bad_duration.conf",
        corenats: &["bad_duration.conf:1:0: error parsing write_deadline: time: invalid duration \"ten seconds\""],
        nats: Some("error parsing write_deadline: time: invalid duration \"ten seconds\""),
    },
    Bad {
        file: "export_stream_and_service.conf",
        corenats: &["export_stream_and_service.conf:2:32: Detected service \"b\" but already saw a stream \"a\""],
        // nats-server walks the entry in Go map order: either key may be "seen first".
        nats: Some("\" but already saw a "),
    },
    Bad {
        file: "export_unknown_response_type.conf",
        corenats: &["export_unknown_response_type.conf:2:49: Unknown response type: \"sometimes\""],
        nats: Some("Unknown response type: \"sometimes\""),
    },
    Bad {
        file: "import_prefix_and_to.conf",
        corenats: &["import_prefix_and_to.conf:3:70: Stream import can not have a 'prefix' and a 'to' property"],
        // nats-server only notices when it happens to walk `prefix` before `to` (Go map order).
        nats: Some(MAP_ORDER),
    },
    Bad {
        file: "import_prefix_wildcard.conf",
        corenats: &["import_prefix_wildcard.conf:3:66: stream import prefix can not contain wildcard tokens"],
        nats: Some("stream import prefix can not contain wildcard tokens"),
    },
    Bad {
        file: "include_missing.conf",
        corenats: &["include_missing.conf:1:8: error parsing include file './does_not_exist.conf'"],
        nats: Some("error parsing include file './does_not_exist.conf'"),
    },
    Bad {
        file: "include_parent_variable.conf",
        corenats: &["include_parent_variable_users.inc:2:23: error parsing include file './include_parent_variable_users.inc', variable reference for 'PW_VAR' on line 2 can not be found"],
        nats: Some("error parsing include file './include_parent_variable_users.inc', variable reference for 'PW_VAR' on line 2 can not be found"),
    },
    Bad {
        file: "invalid_permission_subject.conf",
        corenats: &["invalid_permission_subject.conf:3:52: subject \"foo..bar\" is not a valid subject"],
        nats: Some("subject \"foo..bar\" is not a valid subject"),
    },
    Bad {
        file: "lame_duck_too_short.conf",
        corenats: &["lame_duck_too_short.conf:1:0: invalid lame_duck_duration of 10s, minimum is 30 seconds"],
        nats: Some("invalid lame_duck_duration of 10s, minimum is 30 seconds"),
    },
    Bad {
        file: "lexer_map_terminator.conf",
        corenats: &["lexer_map_terminator.conf:3:8: Parse error on line 3: 'Expected a map value terminator \",\" or a map terminator \"}\", but got '2' instead.'"],
        nats: Some("Parse error on line 3: 'Expected a map value terminator \",\" or a map terminator \"}\", but got '2' instead.'"),
    },
    Bad {
        file: "limits_unknown_field.conf",
        corenats: &["limits_unknown_field.conf:2:16: Unknown field \"max_bytes\" parsing account limits"],
        nats: Some("limits_unknown_field.conf:2:16: Unknown field \"max_bytes\" parsing account limits"),
    },
    Bad {
        file: "mapping_bad_weight.conf",
        corenats: &["mapping_bad_weight.conf:2:11: Invalid weight 101 for mapping destination"],
        nats: Some("Invalid weight 101 for mapping destination"),
    },
    Bad {
        file: "multiple_errors.conf",
        corenats: &[
            "multiple_errors.conf:1:7: invalid value for \"port\": expected a port number, got a string \"x\"",
            "multiple_errors.conf:2:14: invalid value for \"max_payload\": must not be negative, got -1",
            "multiple_errors.conf:3:8: invalid value for \"debug\": expected a boolean (true/false/yes/no/on/off), got an integer 7",
            "multiple_errors.conf:4:1: invalid lame_duck_duration of 5s, minimum is 30 seconds",
            "multiple_errors.conf:5:27: User entry requires a user",
        ],
        nats: Some("multiple_errors.conf:4:1: invalid lame_duck_duration of 5s, minimum is 30 seconds"),
    },
    Bad {
        file: "negative_size.conf",
        corenats: &["negative_size.conf:1:13: invalid value for \"max_pending\": must not be negative, got -1048576"],
        nats: None,
    },
    Bad {
        file: "nonstandard_bare_allow.conf",
        corenats: &["nonstandard_bare_allow.conf:2:36: non-standard config ('allow'/'deny' directly under permissions)"],
        nats: Some("nonstandard_bare_allow.conf:2:36: Unknown field \"allow\" parsing permissions"),
    },
    Bad {
        file: "nonstandard_brace_list.conf",
        corenats: &["nonstandard_brace_list.conf:3:48: non-standard config (list written in braces): allow { \"x.>\" }; standard form: allow: [\"x.>\"]"],
        nats: Some("unknown field"),
    },
    Bad {
        file: "nonstandard_colon_key.conf",
        corenats: &["nonstandard_colon_key.conf:2:3: non-standard config (key with ':' before a block): account:a { ... }; standard form: \"account:a\" { ... }"],
        nats: Some("Parse error on line 2"),
    },
    Bad {
        file: "nonstandard_users_map.conf",
        corenats: &["nonstandard_users_map.conf:3:5: non-standard config (users written as a map of blocks)"],
        nats: Some("Expected users field to be an array"),
    },
    Bad {
        file: "ping_interval_bare_int.conf",
        corenats: &["ping_interval_bare_int.conf:1:0: ping_interval should be converted to a duration"],
        nats: Some("ping_interval should be converted to a duration"),
    },
    Bad {
        file: "reserved_account_global.conf",
        corenats: &["reserved_account_global.conf:2:4: \"$G\" is a Reserved Account"],
        nats: Some("\"$G\" is a Reserved Account"),
    },
    Bad {
        file: "seed-example.conf",
        corenats: &[
            "seed-example.conf:4:3: non-standard config (key with ':' before a block)",
            "seed-example.conf:5:5: non-standard config (users written as a map of blocks)",
            "seed-example.conf:12:13: non-standard config (list written in braces)",
            "seed-example.conf:34:11: non-standard config ('allow'/'deny' directly under permissions)",
        ],
        nats: Some("Parse error on line 4: 'Expected a map value terminator \",\" or a map terminator \"}\", but got '{' instead.'"),
    },
    Bad {
        file: "string_for_number.conf",
        corenats: &["string_for_number.conf:1:14: invalid value for \"max_payload\": expected an integer"],
        nats: Some("interface conversion: interface {} is string, not int64"),
    },
    Bad {
        file: "unknown_permissions_field.conf",
        corenats: &["unknown_permissions_field.conf:3:56: Unknown field \"admin\" parsing permissions"],
        nats: Some("unknown_permissions_field.conf:3:56: Unknown field \"admin\" parsing permissions"),
    },
    Bad {
        file: "unknown_subject_permission_field.conf",
        corenats: &["unknown_subject_permission_field.conf:3:64: Unknown field name \"except\" parsing subject permissions, only 'allow' or 'deny' are permitted"],
        nats: Some("unknown_subject_permission_field.conf:3:64: Unknown field name \"except\" parsing subject permissions, only 'allow' or 'deny' are permitted"),
    },
    Bad {
        file: "unknown_top_level_field.conf",
        corenats: &["unknown_top_level_field.conf:2:1: unknown field \"foo_unknown\""],
        nats: Some("unknown_top_level_field.conf:2:1: unknown field \"foo_unknown\""),
    },
    Bad {
        file: "unresolved_variable.conf",
        corenats: &["unresolved_variable.conf:3:10: variable reference for 'MISSING_TOKEN_VAR' on line 3 can not be found"],
        nats: Some("variable reference for 'MISSING_TOKEN_VAR' on line 3 can not be found"),
    },
    Bad {
        file: "unused_variable.conf",
        corenats: &["unused_variable.conf:1:0: unknown field \"TOKEN\""],
        nats: Some("unknown field \"TOKEN\""),
    },
    Bad {
        file: "user_without_name.conf",
        corenats: &["user_without_name.conf:1:26: User entry requires a user"],
        nats: Some("user_without_name.conf:1:26: User entry requires a user"),
    },
    Bad {
        file: "hcl_bare_identifier.hcl",
        corenats: &["hcl_bare_identifier.hcl:1:8: HCL: bare identifier alice is not a value; quote strings (\"alice\")"],
        // nats-server reads no HCL: the file is not a valid config for it either.
        nats: Some(""),
    },
];

#[test]
fn every_bad_config_file_fails_with_its_message_and_position() {
    // Every file in the directory is in the table (include fragments are checked through their includer;
    // `good/` holds the valid ones).
    let mut files: Vec<String> = std::fs::read_dir(configs_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with(".inc") && n != "good")
        .collect();
    files.sort();
    let mut listed: Vec<String> = BAD.iter().map(|b| b.file.to_string()).collect();
    listed.sort();
    assert_eq!(files, listed, "tests/configs/ and the table differ");

    for b in BAD {
        let (code, out) = check_file(&configs_dir().join(b.file));
        if is_corenats() {
            assert_eq!(code, Some(1), "{}: {out}", b.file);
            for want in b.corenats {
                assert!(out.contains(want), "{}: want {want:?} in:\n{out}", b.file);
            }
            assert!(!out.contains("is valid"), "{}: {out}", b.file);
        } else {
            match b.nats {
                Some(MAP_ORDER) => {}
                Some(want) => {
                    assert_eq!(code, Some(1), "{}: {out}", b.file);
                    assert!(out.contains(want), "{}: want {want:?} in:\n{out}", b.file);
                }
                None => assert_eq!(code, Some(0), "{}: {out}", b.file),
            }
        }
    }
}

#[test]
fn seed_file_starts_with_four_warnings() {
    if !is_corenats() {
        return; // nats-server refuses the seed file (see the table above)
    }
    let path = configs_dir().join("seed-example.conf");
    let s = Server::start(ServerOpts::args(&["-c", path.to_str().unwrap()]));
    let log = s.log();
    let first: Vec<&str> = log.lines().take(4).collect();
    for (line, want) in first.iter().zip(["4:3", "5:5", "12:13", "34:11"]) {
        assert!(line.contains("[WRN]"), "{line}\n{log}");
        assert!(
            line.contains(&format!("seed-example.conf:{want}: non-standard config")),
            "{line}\n{log}"
        );
    }
    // And the tenants work as the seed describes.
    let mut a = login(&s, "user:a", "password-a");
    a.send(b"SUB service.a.x 1\r\nPUB service.a.x 1\r\nz\r\n");
    a.expect(b"MSG service.a.x 1 1\r\nz\r\n");
    a.send(b"PUB service.b.x 1\r\nz\r\n");
    a.expect_err(&pub_violation("service.b.x"));
    a.expect_nothing();
}

/// Good configs (`tests/configs/good/`): the corrected seed and examples from the NATS
/// documentation, which the config unit tests (`src/config/tests/docs.rs`) also load.
fn good_configs() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs/good");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            let path = e.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).unwrap())
        })
        .collect();
    out.sort();
    assert!(out.len() >= 9, "good configs missing: {out:?}");
    out
}

#[test]
fn good_configs_are_valid() {
    let dir = TempDir::new();
    for (name, text) in good_configs() {
        let text = text.replace("NKEY", &nkeys::KeyPair::new_user().public_key());
        let path = dir.write(&name, &text);
        let (code, out) = check_file(&path);
        assert_eq!(code, Some(0), "{name}: {out}");
        let want = format!("configuration file {} is valid", path.display());
        assert!(out.contains(&want), "{name}: want {want:?} in {out:?}");
    }
}

#[test]
fn docs_variables_example_works() {
    // The variables example above, live: permissions from variables, and the default for `other`.
    let s = Server::start(ServerOpts::conf(include_str!(
        "../configs/good/docs_variables.conf"
    )));
    let mut client = login(&s, "client", "cl1ent");
    client.send(b"PUB req.a 1\r\nz\r\nPUB SANDBOX.x 1\r\nz\r\n");
    client.expect_err(&pub_violation("SANDBOX.x"));
    let mut other = login(&s, "other", "0ther");
    other.send(b"PUB SANDBOX.x 1\r\nz\r\nPUB req.a 1\r\nz\r\n");
    other.expect_err(&pub_violation("req.a"));
    other.expect_nothing();
    login(&s, "admin", "s3cr3t").expect_nothing();
}

const HCL: &str = r#"
max_payload = 4096
authorization {
  timeout = 1.5
}
accounts "A" {
  users = [ { user = "a", password = "pa", permissions = { publish = { allow = ["svc.a.>"], deny = "svc.a.x" }, subscribe = "svc.>" } }, { user = "a2", password = "pa2" } ]
  exports = [ { stream = "pub.>" } ]
}
accounts "B" {
  users = [ { user = "b", password = "pb" } ]
  imports = [ { stream = { account = "A", subject = "pub.>" }, prefix = "fromA" } ]
}
"#;

#[test]
fn hcl_config_end_to_end() {
    if !is_corenats() {
        return; // nats-server reads only its own config language
    }
    let dir = TempDir::new();
    let path = dir.write("server.hcl", HCL);
    let (code, out) = check_file(&path);
    assert_eq!(code, Some(0), "{out}");
    let s = Server::start(ServerOpts::args(&["-c", path.to_str().unwrap()]));
    assert_eq!(s.raw().info["max_payload"], 4096);
    let mut b = login(&s, "b", "pb");
    b.send(b"SUB > 1\r\n");
    b.ping_pong();
    let mut a = login(&s, "a", "pa");
    a.send(b"SUB svc.> 1\r\nPUB svc.a.ok 1\r\n1\r\n");
    a.expect(b"MSG svc.a.ok 1 1\r\n1\r\n");
    a.send(b"PUB svc.a.x 1\r\n2\r\n");
    a.expect_err(&pub_violation("svc.a.x"));
    a.send(b"SUB other 2\r\n");
    a.expect_err(&sub_violation("other", None));
    a.expect_nothing();
    // Isolation, and the stream import.
    b.expect_nothing();
    let mut pa = login(&s, "a", "pa");
    pa.send(b"PUB svc.a.y 1\r\n3\r\n");
    pa.ping_pong();
    a.expect(b"MSG svc.a.y 1 1\r\n3\r\n");
    let mut exporter = login(&s, "a2", "pa2");
    exporter.send(b"PUB pub.news 1\r\n4\r\n");
    exporter.ping_pong();
    b.expect(b"MSG fromA.pub.news 1 1\r\n4\r\n");
    b.expect_nothing();
    assert_login_refused(&s, &connect_json(&user_pass("a", "pb")));
}

#[test]
fn startup_reports_config_and_accounts_errors_together() {
    let path = configs_dir().join("mixed_errors.conf");
    let log = Server::try_start(ServerOpts::args(&["-c", path.to_str().unwrap()]))
        .err()
        .expect("a broken config must not start");
    for want in [
        "invalid value for \"port\"",
        "Duplicate user \"a\" detected",
    ] {
        if is_corenats() || !want.contains("port") {
            assert!(log.contains(want), "want {want:?} in:\n{log}");
        }
    }
}
