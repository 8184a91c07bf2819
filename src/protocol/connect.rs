//! Decoding the JSON of a client's `CONNECT` the way nats-server's `json.Unmarshal` into
//! `ClientOpts` does: omitted or `null` fields keep the defaults (verbose, pedantic and echo
//! are true), unknown fields are ignored, key names match case-insensitively, a repeated key
//! keeps its last value, and a value of the wrong type is an error (the engine then closes
//! the connection silently).

use std::fmt;

use super::errors::ProtoErr;
use super::json_object::{self, JsonError, Scalar};

/// What a client said in `CONNECT`. Empty strings count as absent (`None`), as in Go where
/// `""` is the unset value.
#[derive(Clone, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Send `+OK` after each accepted op. Default true.
    pub verbose: bool,
    /// Check publish subjects (`-ERR 'Invalid Publish Subject'`). Default true.
    pub pedantic: bool,
    /// Ignored on a plain server.
    pub tls_required: bool,
    pub auth_token: Option<String>,
    pub user: Option<String>,
    pub pass: Option<String>,
    /// Client-chosen connection name (shown in monitoring).
    pub name: Option<String>,
    pub lang: Option<String>,
    pub version: Option<String>,
    /// 0 or 1; anything else is `-ERR 'invalid client protocol'`. Default 0.
    pub protocol: i64,
    /// Deliver the connection's own publishes back to it. Default true.
    pub echo: bool,
    /// nkey signature of the INFO nonce (base64url).
    pub sig: Option<String>,
    pub jwt: Option<String>,
    pub nkey: Option<String>,
    /// The client understands HMSG. Default false.
    pub headers: bool,
    /// The client wants 503 status messages when a request has no responders. Default false.
    pub no_responders: bool,
    /// Legacy: either of these gives `-ERR 'Authorization Violation'` (the auth layer checks).
    pub account: Option<String>,
    pub new_account: bool,
}

impl Default for ConnectOptions {
    /// nats-server's defaults, which also apply before any CONNECT.
    fn default() -> Self {
        ConnectOptions {
            verbose: true,
            pedantic: true,
            tls_required: false,
            auth_token: None,
            user: None,
            pass: None,
            name: None,
            lang: None,
            version: None,
            protocol: 0,
            echo: true,
            sig: None,
            jwt: None,
            nkey: None,
            headers: false,
            no_responders: false,
            account: None,
            new_account: false,
        }
    }
}

impl fmt::Debug for ConnectOptions {
    /// Secrets are never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hide = |s: &Option<String>| s.as_ref().map(|_| "[REDACTED]");
        f.debug_struct("ConnectOptions")
            .field("verbose", &self.verbose)
            .field("pedantic", &self.pedantic)
            .field("tls_required", &self.tls_required)
            .field("auth_token", &hide(&self.auth_token))
            .field("user", &self.user)
            .field("pass", &hide(&self.pass))
            .field("name", &self.name)
            .field("lang", &self.lang)
            .field("version", &self.version)
            .field("protocol", &self.protocol)
            .field("echo", &self.echo)
            .field("sig", &hide(&self.sig))
            .field("jwt", &self.jwt.as_ref().map(|j| j.len()))
            .field("nkey", &self.nkey)
            .field("headers", &self.headers)
            .field("no_responders", &self.no_responders)
            .field("account", &self.account)
            .field("new_account", &self.new_account)
            .finish()
    }
}

/// Why a CONNECT's JSON was rejected (for the log; the client gets no `-ERR`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectError {
    /// Not valid JSON (including an empty argument).
    Json(String),
    /// Valid JSON but neither an object nor `null`.
    NotAnObject,
    /// A known field with a value of the wrong type.
    WrongType(&'static str),
}

impl fmt::Display for ConnectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectError::Json(e) => write!(f, "invalid CONNECT JSON: {e}"),
            ConnectError::NotAnObject => f.write_str("CONNECT JSON is not an object"),
            ConnectError::WrongType(k) => write!(f, "CONNECT field {k:?} has the wrong type"),
        }
    }
}

impl std::error::Error for ConnectError {}

/// Decodes the JSON argument of `CONNECT`.
pub fn parse_connect(json: &[u8]) -> Result<ConnectOptions, ConnectError> {
    parse_connect_over(json, ConnectOptions::default())
}

/// Decodes a CONNECT over the options already in force: fields it leaves out keep their values, as
/// Go's JSON decoding into the connection's existing options does for a second CONNECT. Members apply
/// in document order (a repeated key, in any letter case, keeps the last value), `null` changes
/// nothing, and keys nats-server does not know are skipped whatever they hold (`json_object`).
pub fn parse_connect_over(
    json: &[u8],
    base: ConnectOptions,
) -> Result<ConnectOptions, ConnectError> {
    let mut o = base;
    let members = match json_object::members(json) {
        Ok(Some(m)) => m,
        // Go: unmarshalling `null` into a struct leaves it untouched.
        Ok(None) => return Ok(o),
        Err(JsonError::NotAnObject) => return Err(ConnectError::NotAnObject),
        Err(e) => return Err(ConnectError::Json(e.to_string())),
    };
    for (key, value) in &members {
        if *value == Scalar::Null {
            continue;
        }
        let k = key.to_ascii_lowercase();
        match k.as_str() {
            "verbose" => o.verbose = boolean("verbose", value)?,
            "pedantic" => o.pedantic = boolean("pedantic", value)?,
            "tls_required" => o.tls_required = boolean("tls_required", value)?,
            "echo" => o.echo = boolean("echo", value)?,
            "headers" => o.headers = boolean("headers", value)?,
            "no_responders" => o.no_responders = boolean("no_responders", value)?,
            "new_account" => o.new_account = boolean("new_account", value)?,
            "auth_token" => o.auth_token = string("auth_token", value)?,
            "user" => o.user = string("user", value)?,
            "pass" => o.pass = string("pass", value)?,
            "name" => o.name = string("name", value)?,
            "lang" => o.lang = string("lang", value)?,
            "version" => o.version = string("version", value)?,
            "sig" => o.sig = string("sig", value)?,
            "jwt" => o.jwt = string("jwt", value)?,
            "nkey" => o.nkey = string("nkey", value)?,
            "account" => o.account = string("account", value)?,
            "protocol" => o.protocol = integer("protocol", value)?,
            _ => {}
        }
    }
    Ok(o)
}

fn boolean(k: &'static str, v: &Scalar<'_>) -> Result<bool, ConnectError> {
    match v {
        Scalar::Bool(b) => Ok(*b),
        _ => Err(ConnectError::WrongType(k)),
    }
}

fn string(k: &'static str, v: &Scalar<'_>) -> Result<Option<String>, ConnectError> {
    match v {
        Scalar::Str(s) if s.is_empty() => Ok(None),
        Scalar::Str(s) => Ok(Some(s.clone())),
        _ => Err(ConnectError::WrongType(k)),
    }
}

/// A JSON number into Go's `int`: an integer literal in range (`1.0` and `1e0` are refused, as Go's
/// decoder refuses them).
fn integer(k: &'static str, v: &Scalar<'_>) -> Result<i64, ConnectError> {
    match v {
        Scalar::Number(n) => n.parse().map_err(|_| ConnectError::WrongType(k)),
        _ => Err(ConnectError::WrongType(k)),
    }
}

impl ConnectOptions {
    /// The checks nats-server makes on a CONNECT after authentication; both close the
    /// connection with the returned `-ERR`. `headers` here is what the client asked for (the
    /// server always supports headers).
    pub fn validate(&self) -> Result<(), ProtoErr> {
        if !(0..=1).contains(&self.protocol) {
            return Err(ProtoErr::InvalidClientProtocol);
        }
        if self.no_responders && !self.headers {
            return Err(ProtoErr::NoRespondersRequiresHeaders);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_object_gives_nats_defaults() {
        let o = parse_connect(b"{}").unwrap();
        assert_eq!(o, ConnectOptions::default());
        assert!(o.verbose && o.pedantic && o.echo);
        assert!(!o.headers && !o.no_responders && !o.tls_required);
        assert_eq!(o.protocol, 0);
        assert_eq!(parse_connect(b"null").unwrap(), ConnectOptions::default());
        assert_eq!(parse_connect(b" {} ").unwrap(), ConnectOptions::default());
    }

    #[test]
    fn async_nats_connect_with_nulls() {
        let json = br#"{"verbose":false,"pedantic":false,"jwt":null,"nkey":null,"sig":null,"name":null,"echo":true,"lang":"rust","version":"0.46.0","protocol":1,"tls_required":false,"user":null,"pass":null,"auth_token":null,"headers":true,"no_responders":true}"#;
        let o = parse_connect(json).unwrap();
        assert!(!o.verbose && !o.pedantic && o.echo);
        assert_eq!(o.lang.as_deref(), Some("rust"));
        assert_eq!(o.version.as_deref(), Some("0.46.0"));
        assert_eq!(o.protocol, 1);
        assert!(o.headers && o.no_responders);
        assert_eq!(
            (o.jwt, o.nkey, o.sig, o.name, o.user, o.pass, o.auth_token),
            Default::default()
        );
        // null on a bool keeps the default.
        let o = parse_connect(br#"{"verbose":null,"echo":null,"protocol":null}"#).unwrap();
        assert!(o.verbose && o.echo);
        assert_eq!(o.protocol, 0);
    }

    #[test]
    fn go_and_python_clients() {
        let go = br#"{"verbose":false,"pedantic":false,"user":"a","pass":"secret","tls_required":false,"name":"","lang":"go","version":"1.31.0","protocol":1,"echo":true,"headers":true,"no_responders":true}"#;
        let o = parse_connect(go).unwrap();
        assert_eq!(o.user.as_deref(), Some("a"));
        assert_eq!(o.pass.as_deref(), Some("secret"));
        assert_eq!(o.name, None);
        assert!(!format!("{o:?}").contains("secret"));
        let py = br#"{"auth_token": "tok", "echo": false, "headers": true, "lang": "python3", "no_responders": true, "pedantic": false, "protocol": 1, "verbose": false, "version": "2.16.0"}"#;
        let o = parse_connect(py).unwrap();
        assert_eq!(o.auth_token.as_deref(), Some("tok"));
        assert!(!o.echo);
    }

    #[test]
    fn unknown_fields_ignored_duplicates_last_case_insensitive() {
        let o = parse_connect(br#"{"foo":[1,{"x":2}],"verbose":true,"verbose":false}"#).unwrap();
        assert!(!o.verbose);
        let o = parse_connect(br#"{"VERBOSE":false,"Echo":false}"#).unwrap();
        assert!(!o.verbose && !o.echo);
        let o = parse_connect(br#"{"Verbose":true,"verbose":false}"#).unwrap();
        assert!(!o.verbose);
        // In document order, whatever the letter case (checked against nats-server 2.15).
        let o = parse_connect(br#"{"verbose":false,"VERBOSE":true}"#).unwrap();
        assert!(o.verbose);
        // Unknown members may hold anything well-formed that Go accepts.
        let deep = format!(
            "{{\"x\":{}{},\"echo\":false}}",
            "[".repeat(1000),
            "]".repeat(1000)
        );
        assert!(!parse_connect(deep.as_bytes()).unwrap().echo);
        let o =
            parse_connect(b"{\"x\":\"\xff\",\"y\":\"\\ud800\",\"z\":1e99999,\"name\":\"\xffn\"}")
                .unwrap();
        assert_eq!(o.name.as_deref(), Some("\u{FFFD}n"));
        assert_eq!(
            parse_connect(br#"{"protocol":1e0}"#),
            Err(ConnectError::WrongType("protocol"))
        );
    }

    #[test]
    fn bad_json_is_an_error() {
        assert!(matches!(parse_connect(b""), Err(ConnectError::Json(_))));
        assert!(matches!(parse_connect(b"{"), Err(ConnectError::Json(_))));
        assert!(matches!(parse_connect(b"{} x"), Err(ConnectError::Json(_))));
        assert_eq!(parse_connect(b"[]"), Err(ConnectError::NotAnObject));
        assert_eq!(parse_connect(b"5"), Err(ConnectError::NotAnObject));
        assert_eq!(
            parse_connect(br#"{"verbose":"false"}"#),
            Err(ConnectError::WrongType("verbose"))
        );
        assert_eq!(
            parse_connect(br#"{"protocol":1.5}"#),
            Err(ConnectError::WrongType("protocol"))
        );
        assert_eq!(
            parse_connect(br#"{"user":5}"#),
            Err(ConnectError::WrongType("user"))
        );
    }

    #[test]
    fn null_members_change_nothing() {
        let o = parse_connect(br#"{"jwt":null,"headers":true}"#).unwrap();
        assert!(o.verbose && o.headers);
    }

    #[test]
    fn validate_rules() {
        let ok = |j: &[u8]| parse_connect(j).unwrap().validate();
        assert_eq!(ok(b"{}"), Ok(()));
        assert_eq!(ok(br#"{"protocol":1}"#), Ok(()));
        assert_eq!(
            ok(br#"{"protocol":2}"#),
            Err(ProtoErr::InvalidClientProtocol)
        );
        assert_eq!(
            ok(br#"{"protocol":-1}"#),
            Err(ProtoErr::InvalidClientProtocol)
        );
        assert_eq!(
            ok(br#"{"no_responders":true}"#),
            Err(ProtoErr::NoRespondersRequiresHeaders)
        );
        assert_eq!(
            ok(br#"{"no_responders":true,"headers":false}"#),
            Err(ProtoErr::NoRespondersRequiresHeaders)
        );
        assert_eq!(ok(br#"{"no_responders":true,"headers":true}"#), Ok(()));
    }
}
