//! Subject checks for config values, on top of the shared `subject` module: permission entries may be
//! `"subject queue"`, and errors use nats-server's wording.

use crate::subject as shared;

/// True when `s` is a valid subject (literal or with wildcards).
pub fn is_valid(s: &str) -> bool {
    shared::is_valid_subject(s.as_bytes())
}

/// True when `s` contains a wildcard token (`*` or `>`).
pub fn has_wildcard(s: &str) -> bool {
    shared::has_wildcard(s.as_bytes())
}

/// Checks a permission entry: a subject, or `"subject queue"` (two fields). On failure returns
/// nats-server's message (`subject "x" is not a valid subject`).
pub fn check_permission_entry(s: &str) -> Result<(), String> {
    if is_valid(s) {
        return Ok(());
    }
    let fields: Vec<&str> = s.split_whitespace().collect();
    if fields.len() != 2 {
        return Err(format!("subject {s:?} is not a valid subject"));
    }
    if !is_valid(fields[0]) {
        return Err(format!("subject {:?} is not a valid subject", fields[0]));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity() {
        for ok in ["a", "a.b", "a.*", "a.>", ">", "*", "a*.b", "_INBOX.>"] {
            assert!(is_valid(ok), "{ok}");
        }
        for bad in ["", "a..b", ".a", "a.", "a.>.b", "a b", "a\tb"] {
            assert!(!is_valid(bad), "{bad}");
        }
        assert!(has_wildcard("a.*") && has_wildcard("a.>") && !has_wildcard("a*.b"));
    }

    #[test]
    fn queue_entries() {
        assert!(check_permission_entry("qq.* grp1").is_ok());
        assert_eq!(
            check_permission_entry("foo..bar").unwrap_err(),
            "subject \"foo..bar\" is not a valid subject"
        );
        assert_eq!(
            check_permission_entry("a..b grp").unwrap_err(),
            "subject \"a..b\" is not a valid subject"
        );
        assert!(check_permission_entry("a b c").is_err());
    }
}
