//! Secrets and their checks, free of HTTP and SQL: API tokens, invitation codes,
//! form tokens, and reading credentials from an Authorization header.

use chrono::NaiveDate;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a token may do; an admin may do everything a researcher may.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Researcher,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Researcher => "researcher",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "researcher" => Some(Role::Researcher),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// `n` bytes from the operating system's generator.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random generator works");
    bytes
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn sha256_hex(text: &str) -> String {
    hex(&Sha256::digest(text.as_bytes()))
}

/// Equal-length comparison whose time does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub const TOKEN_PREFIX: &str = "tp_";

/// A new API token: `tp_<12 hex key>_<64 hex secret>` (256 random bits in the
/// secret). Returns the token, its lookup key and the hash to store.
pub fn new_api_token() -> (String, String, String) {
    let key = hex(&random_bytes::<6>());
    let secret = hex(&random_bytes::<32>());
    let token = format!("{TOKEN_PREFIX}{key}_{secret}");
    let hash = sha256_hex(&secret);
    (token, key, hash)
}

/// Splits a presented token into its lookup key and secret.
pub fn split_api_token(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(TOKEN_PREFIX)?;
    let (key, secret) = rest.split_once('_')?;
    let is_hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    (is_hex(key, 12) && is_hex(secret, 64)).then_some((key, secret))
}

/// Does the presented secret match the stored hash?
pub fn secret_matches(secret: &str, stored_hash: &str) -> bool {
    constant_time_eq(sha256_hex(secret).as_bytes(), stored_hash.as_bytes())
}

/// The token from `Authorization: Bearer T`, or from HTTP Basic with T as the
/// password (any user name), so browser download links work without scripts.
pub fn token_from_header(header: &str) -> Option<String> {
    let (scheme, value) = header.trim().split_once(' ')?;
    let value = value.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(value.to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64_decode(value)?;
        let text = String::from_utf8(decoded).ok()?;
        let (_, password) = text.split_once(':')?;
        return Some(password.to_string());
    }
    None
}

/// Standard base64 (with or without padding), enough for HTTP Basic.
fn base64_decode(input: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = input.bytes().filter(|b| *b != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let mut acc = 0u32;
        for (i, c) in chunk.iter().enumerate() {
            acc |= value(*c)? << (18 - 6 * i);
        }
        out.extend_from_slice(&acc.to_be_bytes()[1..chunk.len()]);
    }
    Some(out)
}

/// Invitation codes: 12 characters of Crockford's base32 (60 random bits),
/// grouped for reading aloud: `7KQ2-M9XD-4T1R`.
pub fn new_invitation_code() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let bits = u64::from_le_bytes(random_bytes::<8>());
    let chars: Vec<char> = (0..12)
        .map(|i| ALPHABET[((bits >> (5 * i)) & 31) as usize] as char)
        .collect();
    format!(
        "{}-{}-{}",
        chars[0..4].iter().collect::<String>(),
        chars[4..8].iter().collect::<String>(),
        chars[8..12].iter().collect::<String>()
    )
}

/// The stored form of a code: hashed after normalising what people mistype.
pub fn invitation_hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            other => other,
        })
        .collect();
    sha256_hex(&normal)
}

/// How long a rendered form stays submittable.
pub const FORM_TOKEN_DAYS: i64 = 7;

/// A form token binds a render's submission id to this survey and the day it
/// was rendered: `<days since 1970>.<HMAC-SHA256 hex>`.
pub fn form_token(key: &[u8], slug: &str, submission_id: &str, today: NaiveDate) -> String {
    let day = (today - NaiveDate::default()).num_days();
    format!("{day}.{}", form_mac(key, slug, submission_id, day))
}

fn form_mac(key: &[u8], slug: &str, submission_id: &str, day: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(format!("{slug}\n{submission_id}\n{day}").as_bytes());
    hex(&mac.finalize().into_bytes())
}

/// Is this token one we issued for this survey and submission, recently?
pub fn form_token_valid(
    key: &[u8],
    slug: &str,
    submission_id: &str,
    token: &str,
    today: NaiveDate,
) -> bool {
    let Some((day, mac)) = token.split_once('.') else {
        return false;
    };
    let Ok(day) = day.parse::<i64>() else {
        return false;
    };
    let age = (today - NaiveDate::default()).num_days() - day;
    (-1..=FORM_TOKEN_DAYS).contains(&age)
        && constant_time_eq(
            form_mac(key, slug, submission_id, day).as_bytes(),
            mac.as_bytes(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_tokens_carry_256_random_bits_and_only_their_hash_is_kept() {
        let (token, key, hash) = new_api_token();
        assert!(token.starts_with("tp_"));
        let (k, secret) = split_api_token(&token).unwrap();
        assert_eq!(k, key);
        assert_eq!(secret.len() * 4, 256);
        assert!(!hash.contains(secret));
        assert!(secret_matches(secret, &hash));
        assert!(!secret_matches(&"0".repeat(64), &hash));
        assert_ne!(new_api_token().0, token);
        assert!(split_api_token("tp_short_abc").is_none());
    }

    #[test]
    fn bearer_and_basic_both_carry_the_token() {
        assert_eq!(token_from_header("Bearer tp_x").as_deref(), Some("tp_x"));
        // "anyone:tp_x" in base64
        assert_eq!(
            token_from_header("Basic YW55b25lOnRwX3g=").as_deref(),
            Some("tp_x")
        );
        assert_eq!(
            token_from_header("Basic YW55b25lOnRwX3g").as_deref(),
            Some("tp_x")
        );
        assert_eq!(token_from_header("Digest abc"), None);
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
    }

    #[test]
    fn invitation_codes_forgive_case_and_lookalikes() {
        let code = new_invitation_code();
        assert_eq!(code.len(), 14);
        assert_eq!(
            invitation_hash(&code),
            invitation_hash(&code.to_lowercase().replace('-', " "))
        );
        assert_eq!(
            invitation_hash("O1I0-ABCD-EFGH"),
            invitation_hash("0110abcdefgh")
        );
        assert_ne!(new_invitation_code(), code);
    }

    #[test]
    fn form_tokens_are_bound_to_survey_submission_and_age() {
        let key = b"k";
        let day = NaiveDate::from_ymd_opt(2026, 1, 10).unwrap();
        let token = form_token(key, "s", "sid", day);
        assert!(form_token_valid(key, "s", "sid", &token, day));
        assert!(form_token_valid(
            key,
            "s",
            "sid",
            &token,
            day + chrono::Duration::days(7)
        ));
        assert!(!form_token_valid(
            key,
            "s",
            "sid",
            &token,
            day + chrono::Duration::days(8)
        ));
        assert!(!form_token_valid(key, "s", "other", &token, day));
        assert!(!form_token_valid(key, "t", "sid", &token, day));
        assert!(!form_token_valid(b"other key", "s", "sid", &token, day));
        assert!(!form_token_valid(key, "s", "sid", "garbage", day));
    }
}
