//! Page addresses: the id in a page's path, and the filter part a list keeps across its
//! paging links.

use crate::model::AddressStatus;

/// Percent-encodes a query value (host names, owners and zones may hold anything).
pub fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The `:id` of a page's path (`/networks/7`); 0, which names nothing, when it is not a
/// number, so the page answers "not found".
pub fn id_param(params: &leptos_router::params::ParamsMap) -> i64 {
    params
        .get("id")
        .and_then(|s| s.parse::<i64>().ok())
        .unwrap_or(0)
}

pub fn parse_status(s: &str) -> Option<AddressStatus> {
    AddressStatus::ALL.into_iter().find(|st| st.as_str() == s)
}

/// `key=value&` for each of `keys` that the query holds a non-empty value for.
pub fn kept(query: &leptos_router::params::ParamsMap, keys: &[&str]) -> String {
    let mut out = String::new();
    for key in keys {
        if let Some(v) = query.get(key).filter(|v| !v.is_empty()) {
            out.push_str(&format!("{key}={}&", urlencode(&v)));
        }
    }
    out
}
