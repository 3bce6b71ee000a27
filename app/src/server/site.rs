//! The site's bundle (wasm, its script, the stylesheet) under `/pkg/`. A release build
//! names these files by their content (cargo-leptos `hash-files`; `make build-release`
//! copies its `hash.txt` into the site root) and writes `.br` and `.gz` beside each
//! (`--precompress`), which are sent as they are to a browser that accepts them, instead of
//! compressing 1.7 MB of wasm again on every first visit. A file named by its content never
//! changes, so browsers keep it a year without asking; any other is revalidated on each use
//! (a 304 when it has not changed).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::Request;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use http::header::{self, HeaderValue};
use tower_http::services::ServeDir;

/// The file, in the site root, that names the bundle's content hashes.
pub const HASH_FILE: &str = "hash.txt";

/// What a file named by its content may be kept for.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// What any other site file may be kept for: as long as the server says it is unchanged.
pub const REVALIDATE: &str = "no-cache";

/// Where the bundle's hash file is, when the build named the bundle by content.
pub fn hash_file(site_root: &Path) -> Option<PathBuf> {
    let file = site_root.join(HASH_FILE);
    // Absolute: Leptos looks for a relative hash file beside the executable.
    file.is_file()
        .then(|| std::path::absolute(&file).unwrap_or(file))
}

/// The hashes in a hash file's `kind: hash` lines (`js`, `wasm`, `css`): unpadded URL-safe
/// base64 of each file's MD5.
pub fn hashes(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| line.split_once(':'))
        .map(|(_, hash)| hash.trim().to_string())
        .filter(|hash| {
            !hash.is_empty()
                && hash
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .collect()
}

/// The content hashes in the names of the wasm chunks a split build lists in its manifest
/// (`{"page": ["chunk_17.<hash>", …]}`), which the hash file names by its `manifest` hash.
/// A page loaded on demand fetches dozens of chunks: revalidating each on every visit was
/// most of a repeat visit.
pub fn chunk_hashes(manifest: &str) -> Vec<String> {
    let Ok(pages) =
        serde_json::from_str::<std::collections::HashMap<String, Vec<String>>>(manifest)
    else {
        return Vec::new();
    };
    let mut found: Vec<String> = pages
        .values()
        .flatten()
        .filter_map(|name| name.rsplit_once('.'))
        .map(|(_, hash)| format!("chunk: {hash}"))
        .collect();
    found.sort();
    found.dedup();
    hashes(&found.join("\n"))
}

/// The hashes a build named its site files by: the hash file's, and its chunks'.
fn content_hashes(site_root: &Path) -> Vec<String> {
    let Some(text) = hash_file(site_root).and_then(|file| std::fs::read_to_string(file).ok())
    else {
        return Vec::new();
    };
    let mut known = hashes(&text);
    let manifest = text
        .lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(kind, _)| kind.trim() == "manifest")
        .map(|(_, hash)| hash.trim().to_string());
    if let Some(hash) = manifest.filter(|h| known.contains(h)) {
        let file = site_root
            .join("pkg")
            .join(format!("__wasm_split_manifest.{hash}.json"));
        if let Ok(manifest) = std::fs::read_to_string(file) {
            known.extend(chunk_hashes(&manifest));
        }
    }
    known
}

/// `/pkg/` of `site_root`, with each file's caching policy.
pub fn bundle<S: Clone + Send + Sync + 'static>(site_root: &Path) -> Router<S> {
    let hashes: Arc<[String]> = content_hashes(site_root).into();
    let files = ServeDir::new(site_root.join("pkg"))
        .precompressed_br()
        .precompressed_gzip();
    Router::new()
        .nest_service("/pkg", files)
        .layer(middleware::from_fn(move |req, next| {
            cache_policy(hashes.clone(), req, next)
        }))
}

/// Whether `path` names a file by one of `hashes` (`ipvet.<hash>.wasm`).
fn named_by_content(path: &str, hashes: &[String]) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.split('.')
        .any(|part| hashes.iter().any(|hash| hash == part))
}

async fn cache_policy(hashes: Arc<[String]>, req: Request, next: Next) -> Response {
    let policy = if named_by_content(req.uri().path(), &hashes) {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let mut res = next.run(req).await;
    if res.status().is_success() || res.status() == http::StatusCode::NOT_MODIFIED {
        res.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_file_names_its_hashes() {
        let text = "js: 4Uj3-xK0\nwasm: Zq9_bad!\ncss: AbC_123\n\n";
        assert_eq!(hashes(text), vec!["4Uj3-xK0", "AbC_123"]);
    }

    #[test]
    fn a_split_manifest_names_its_chunks_hashes() {
        let manifest = r#"{"__a_view": ["chunk_16.x26Q-6Af_e5w", "split___a_view_32.pa5pJMdp"],
            "__b_view": ["chunk_16.x26Q-6Af_e5w", "chunk_17.bad!hash", "nodot"]}"#;
        assert_eq!(chunk_hashes(manifest), vec!["pa5pJMdp", "x26Q-6Af_e5w"]);
        assert!(chunk_hashes("not json").is_empty());
    }

    #[test]
    fn only_a_file_named_by_a_known_hash_is_immutable() {
        let known = vec!["AbC123".to_string()];
        assert!(named_by_content("/pkg/ipvet.AbC123.css", &known));
        assert!(named_by_content("/pkg/ipvet.AbC123.wasm", &known));
        assert!(!named_by_content("/pkg/ipvet.css", &known));
        assert!(!named_by_content("/pkg/ipvet.Other9.css", &known));
        assert!(!named_by_content("/pkg/AbC123/ipvet.css", &known));
    }
}
