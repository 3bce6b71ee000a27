//! Where a form posted without JavaScript is sent back to. Leptos answers such a post with
//! a redirect to the page it came from (its Referer), adding `__path` and `__err` to say
//! which function failed and why. The page it came from may carry an earlier failure in
//! the same way, so errors piled up in the address, and a later success went back to a
//! page that showed the old error again. The way back keeps only this answer's error.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::header::{LOCATION, REFERER};
use http::HeaderValue;

/// The query keys Leptos uses to carry a form's error back to its page.
const ERROR_KEYS: [&str; 2] = ["__path", "__err"];

/// The path of the server function whose refusal a page's query carries (its `__path`,
/// decoded), when it carries one.
pub fn refused_function(query: &str) -> Option<String> {
    let pairs = || query.split('&').filter_map(|pair| pair.split_once('='));
    if !pairs().any(|(key, _)| key == ERROR_KEYS[1]) {
        return None;
    }
    pairs()
        .rev()
        .find(|(key, _)| *key == ERROR_KEYS[0])
        .map(|(_, path)| path.replace("%2F", "/").replace("%2f", "/"))
}

/// Rewrites the redirect of a form post so that the page it returns to carries only this
/// post's error, if any.
pub async fn clean_form_return(req: Request, next: Next) -> Response {
    let referer = req
        .headers()
        .get(REFERER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut res = next.run(req).await;
    let (Some(referer), true) = (referer, res.status().is_redirection()) else {
        return res;
    };
    let Some(location) = res.headers().get(LOCATION).and_then(|v| v.to_str().ok()) else {
        return res;
    };
    if let Some(cleaned) = returned_to(&referer, location) {
        if let Ok(value) = HeaderValue::from_str(&cleaned) {
            res.headers_mut().insert(LOCATION, value);
        }
    }
    res
}

/// The way back for a redirect to `location` of a post from `referer`: the referer without
/// earlier errors, plus what this answer added. `None` when the redirect does not lead
/// back to the referer (a redirect of its own, such as sign-in's), which stays as it is.
pub fn returned_to(referer: &str, location: &str) -> Option<String> {
    let added = location.strip_prefix(referer)?;
    let (page, query) = match referer.split_once('?') {
        Some((page, query)) => (page, query),
        None => (referer, ""),
    };
    let mut kept: Vec<&str> = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter(|pair| {
            let key = pair.split_once('=').map_or(*pair, |(k, _)| k);
            !ERROR_KEYS.contains(&key)
        })
        .collect();
    // What Leptos appended starts with its separator: `?` or `&`.
    let added = added.trim_start_matches(['?', '&']);
    kept.extend(added.split('&').filter(|pair| !pair.is_empty()));
    Some(if kept.is_empty() {
        page.to_string()
    } else {
        format!("{page}?{}", kept.join("&"))
    })
}

#[cfg(test)]
mod tests {
    use super::returned_to;

    #[test]
    fn only_this_answers_error_goes_back() {
        let page = "http://h/networks";
        // A failure from a clean page: as Leptos made it.
        assert_eq!(
            returned_to(page, "http://h/networks?__path=%2Fa&__err=X").as_deref(),
            Some("http://h/networks?__path=%2Fa&__err=X")
        );
        // A second failure replaces the first.
        assert_eq!(
            returned_to(
                "http://h/networks?__path=%2Fa&__err=X",
                "http://h/networks?__path=%2Fa&__err=X&__path=%2Fa&__err=Y"
            )
            .as_deref(),
            Some("http://h/networks?__path=%2Fa&__err=Y")
        );
        // A success after a failure goes back to the page without it, its filter kept.
        assert_eq!(
            returned_to(
                "http://h/networks/3?status=free&__path=%2Fa&__err=X",
                "http://h/networks/3?status=free&__path=%2Fa&__err=X"
            )
            .as_deref(),
            Some("http://h/networks/3?status=free")
        );
        assert_eq!(returned_to(page, page).as_deref(), Some(page));
        // Somewhere else: left alone.
        assert_eq!(returned_to(page, "/login"), None);
    }

    #[test]
    fn the_refused_function_is_read_from_the_query() {
        use super::refused_function;
        assert_eq!(
            refused_function("q=lab&__path=%2Fapi%2Fnetworks%2Fcreate&__err=X").as_deref(),
            Some("/api/networks/create")
        );
        assert_eq!(refused_function("__path=%2Fapi%2Fa"), None);
        assert_eq!(refused_function("q=lab"), None);
    }

    proptest::proptest! {
        /// Whatever the addresses, no panic, and the way back never holds more than one
        /// error.
        #[test]
        fn any_pair_is_handled(referer in ".{0,60}", added in "[?&]?[a-z_=&%]{0,40}") {
            let errors = |query: &str| {
                query.split('&').filter(|pair| pair.split('=').next() == Some("__err")).count()
            };
            let location = format!("{referer}{added}");
            let back = returned_to(&referer, &location).unwrap();
            let back_errors = back.split_once('?').map_or(0, |(_, q)| errors(q));
            proptest::prop_assert!(back_errors <= errors(added.trim_start_matches(['?', '&'])));
        }
    }
}
