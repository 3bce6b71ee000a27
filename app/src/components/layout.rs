//! The frame of every signed-in page: navigation by role, who is signed in, sign-out.

use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect, A};

use crate::api::auth::{me, take_notice, Logout};
use crate::components::outcome::notice_text;
use crate::model::{CurrentUser, Role};

/// Renders its child route for a signed-in user; sends anyone else to the sign-in page.
///
/// The page is drawn outside any `Suspense`, once who is signed in is known: on the server
/// from the start (read before the page is drawn), in the browser once `me` has come (at
/// once when hydrating). Drawn inside a `Suspense` that waited for the user, the server
/// made the page anew when the user arrived, and each time read its data and sent it to
/// the browser again: a network's page carried its data three times.
#[component]
pub fn SignedIn() -> impl IntoView {
    let me = Resource::new(|| (), |_| me());
    let notice = Resource::new(|| (), |_| take_notice());
    let user = move || known_user(me);
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {Suspend::new(async move {
                match me.await {
                    Ok(Some(user)) => view! { <Nav user/> }.into_any(),
                    Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
        <main class="content">
            <Suspense fallback=|| ()>
                {Suspend::new(async move {
                    notice.await.ok().flatten().map(|n| view! {
                        <p class="ok notice-left" role="status">{notice_text(&n)}</p>
                    })
                })}
            </Suspense>
            <Show when=move || user().is_some()>
                {move || {
                    if let Some(user) = user() {
                        provide_context(user);
                    }
                    view! { <Outlet/> }
                }}
            </Show>
        </main>
    }
}

/// Who is signed in, where it is known without waiting.
fn known_user(
    me: Resource<Result<Option<CurrentUser>, crate::error::AppError>>,
) -> Option<CurrentUser> {
    #[cfg(feature = "ssr")]
    {
        let _ = me;
        use_context::<crate::server::auth::guard::RequestCaller>().and_then(|c| c.known())
    }
    #[cfg(not(feature = "ssr"))]
    {
        me.get().and_then(Result::ok).flatten()
    }
}

/// Renders `children` for an admin. Anyone else gets a page that says their role does not
/// allow it, answered 403, with nothing of the admin page in it (the Users page used to
/// show its add form to an operator who opened it by address).
#[component]
pub fn AdminOnly(children: ChildrenFn) -> impl IntoView {
    if crate::components::role::current_role() >= Role::Admin {
        return children().into_any();
    }
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::FORBIDDEN);
    }
    view! {
        <leptos_meta::Title text="Not allowed · ipvet"/>
        <h1>"Not allowed"</h1>
        <p class="error" role="alert">"Your role does not allow this."</p>
        <p class="muted">"An admin can change your role on the Users page."</p>
    }
    .into_any()
}

#[component]
fn Nav(user: CurrentUser) -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    let admin = user.role == Role::Admin;
    view! {
        <header class="topbar">
            <a class="brand" href="/">"ipvet"</a>
            <nav aria-label="Main">
                <ul>
                    <li><A href="/" exact=true>"Dashboard"</A></li>
                    <li><A href="/networks">"Networks"</A></li>
                    <li><A href="/problems">"Problem IPs"</A></li>
                    <li><A href="/dnsbl">"DNSBL"</A></li>
                    <li><A href="/checks">"Check runs"</A></li>
                    <li><A href="/sites">"Sites"</A></li>
                    <li><A href="/tokens">"Tokens"</A></li>
                    <li><A href="/api">"API"</A></li>
                    {admin
                        .then(|| {
                            view! {
                                <li><A href="/settings">"Settings"</A></li>
                                <li><A href="/users">"Users"</A></li>
                                <li><A href="/alerts">"Alerts"</A></li>
                                <li><A href="/audit">"Audit log"</A></li>
                            }
                        })}
                </ul>
            </nav>
            <form method="get" action="/search" class="global-search" role="search">
                <input
                    type="search"
                    name="q"
                    placeholder="Address, network, host, owner"
                    aria-label="Find in every network: an address, a CIDR, a network name, a host name or owner"
                />
            </form>
            <div class="who">
                <A href="/account" attr:class="account" attr:title="Your account and password">
                    <span data-testid="whoami">{user.name.clone()} " · " {user.role.as_str()}</span>
                </A>
                <ActionForm action=logout>
                    <button type="submit" class="link">"Sign out"</button>
                </ActionForm>
            </div>
        </header>
    }
}
