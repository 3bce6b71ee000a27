//! The frame of every signed-in page: navigation by role, who is signed in, sign-out.

use leptos::prelude::*;
use leptos_router::components::{Outlet, Redirect, A};

use crate::api::auth::{me, Logout};
use crate::model::{CurrentUser, Role};

/// Renders its child route for a signed-in user; sends anyone else to the sign-in page.
#[component]
pub fn SignedIn() -> impl IntoView {
    let me = Resource::new(|| (), |_| me());
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match me.await {
                    Ok(Some(user)) => {
                        provide_context(user.clone());
                        view! {
                            <Nav user/>
                            <main class="content">
                                <Outlet/>
                            </main>
                        }
                            .into_any()
                    }
                    Ok(None) => view! { <Redirect path="/login"/> }.into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
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
                    <li><A href="/tokens">"Tokens"</A></li>
                    <li><A href="/api">"API"</A></li>
                    {admin
                        .then(|| {
                            view! {
                                <li><A href="/settings">"Settings"</A></li>
                                <li><A href="/users">"Users"</A></li>
                                <li><A href="/audit">"Audit log"</A></li>
                            }
                        })}
                </ul>
            </nav>
            <div class="who">
                <span data-testid="whoami">{user.name.clone()} " · " {user.role.as_str()}</span>
                <ActionForm action=logout>
                    <button type="submit" class="link">"Sign out"</button>
                </ActionForm>
            </div>
        </header>
    }
}
