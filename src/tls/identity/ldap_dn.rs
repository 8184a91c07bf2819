//! go-ldap distinguished names (nats-server's internal/ldap/dn.go): how a configured user name is
//! read as a DN, and how two DNs are compared (in order, and in any order).

/// One attribute of a DN: the type as written (`CN`, `cn`, …) and the value's bytes (a user name's
/// `\XX` escapes may produce any byte).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Atv {
    pub(super) ty: Vec<u8>,
    pub(super) value: Vec<u8>,
}

/// A distinguished name in RFC 4514 string order (most specific RDN first).
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Dn {
    pub(super) rdns: Vec<Vec<Atv>>,
}

impl Dn {
    /// go-ldap's `ParseDN`, byte by byte with its quirks: spaces before a type or value and
    /// unescaped trailing spaces are dropped; `\` escapes one special character or gives one byte
    /// from two hex digits; a value starting with `#` is refused; an `=` inside a value starts the
    /// value again; a last attribute with an empty value is dropped together with its RDN; a
    /// backslash at the very end is ignored; `""` is the empty DN.
    pub(super) fn parse(s: &str) -> Option<Dn> {
        let s = s.as_bytes();
        let mut rdns = Vec::new();
        let mut rdn = Vec::new();
        let mut ty = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        // Unescaped spaces at the end of `buf`, cut when it is taken.
        let mut trailing = 0;
        let mut escaping = false;
        // go-ldap's `stringFromBuffer`.
        let take = |buf: &mut Vec<u8>, trailing: &mut usize| {
            let mut v = std::mem::take(buf);
            v.truncate(v.len() - *trailing);
            *trailing = 0;
            v
        };
        let mut i = 0;
        while i < s.len() {
            let c = s[i];
            if escaping {
                trailing = 0;
                escaping = false;
                if b" \"#+,;<=>\\".contains(&c) {
                    buf.push(c);
                } else {
                    let lo = *s.get(i + 1)?;
                    buf.push(hex_digit(c)? << 4 | hex_digit(lo)?);
                    i += 1;
                }
            } else {
                match c {
                    b'\\' => {
                        trailing = 0;
                        escaping = true;
                    }
                    b'=' => {
                        ty = take(&mut buf, &mut trailing);
                        if s.get(i + 1) == Some(&b'#') {
                            return None;
                        }
                    }
                    b',' | b'+' => {
                        if ty.is_empty() {
                            return None;
                        }
                        let value = take(&mut buf, &mut trailing);
                        rdn.push(Atv {
                            ty: std::mem::take(&mut ty),
                            value,
                        });
                        if c == b',' {
                            rdns.push(std::mem::take(&mut rdn));
                        }
                    }
                    b' ' if buf.is_empty() => {}
                    _ => {
                        trailing = if c == b' ' { trailing + 1 } else { 0 };
                        buf.push(c);
                    }
                }
            }
            i += 1;
        }
        if !buf.is_empty() {
            if ty.is_empty() {
                return None;
            }
            let value = take(&mut buf, &mut trailing);
            rdn.push(Atv { ty, value });
            rdns.push(rdn);
        }
        Some(Dn { rdns })
    }

    /// go-ldap's `DN.Equal`: as many RDNs, equal position by position.
    pub(super) fn equal(&self, other: &Dn) -> bool {
        self.rdns.len() == other.rdns.len()
            && self
                .rdns
                .iter()
                .zip(&other.rdns)
                .all(|(a, b)| rdn_equal(a, b))
    }

    /// go-ldap's `DN.RDNsMatch`: as many RDNs, each of ours equal to a distinct one of theirs
    /// (greedy, first unused match).
    pub(super) fn rdns_match(&self, other: &Dn) -> bool {
        if self.rdns.len() != other.rdns.len() {
            return false;
        }
        let mut used = vec![false; other.rdns.len()];
        self.rdns.iter().all(|mine| {
            let found = other
                .rdns
                .iter()
                .enumerate()
                .find(|(j, theirs)| !used[*j] && rdn_equal(mine, theirs));
            found.map(|(j, _)| used[j] = true).is_some()
        })
    }
}

/// go-ldap's `RelativeDN.Equal`: as many attributes, and each side's attributes all found in the
/// other (order-free).
fn rdn_equal(a: &[Atv], b: &[Atv]) -> bool {
    let all_in = |xs: &[Atv], ys: &[Atv]| xs.iter().all(|x| ys.iter().any(|y| atv_equal(x, y)));
    a.len() == b.len() && all_in(a, b) && all_in(b, a)
}

/// go-ldap's `AttributeTypeAndValue.Equal`: types equal under Go's `strings.EqualFold`, values
/// byte-equal (case matters).
fn atv_equal(a: &Atv, b: &Atv) -> bool {
    go_equal_fold(&a.ty, &b.ty) && a.value == b.value
}

/// Go's `strings.EqualFold`, exact when one side is ASCII, which a certificate's type name always
/// is: beyond ASCII case, only U+212A KELVIN SIGN folds to `k` and U+017F LONG S to `s`. Invalid
/// UTF-8 reads as U+FFFD, as in Go.
pub(super) fn go_equal_fold(a: &[u8], b: &[u8]) -> bool {
    let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    let fold = |c: char| match c {
        '\u{212A}' => 'k',
        '\u{017F}' => 's',
        c => c.to_ascii_lowercase(),
    };
    a.chars().count() == b.chars().count()
        && a.chars()
            .zip(b.chars())
            .all(|(x, y)| x == y || fold(x) == fold(y))
}

fn hex_digit(c: u8) -> Option<u8> {
    char::from(c).to_digit(16).map(|d| d as u8)
}
