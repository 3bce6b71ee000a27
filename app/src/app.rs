//! The HTML shell and the router. Every page renders completely on the server (async SSR
//! mode), so it works without JavaScript; hydrated, it works the same.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, Link, MetaTags, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, SsrMode};

use crate::components::layout::{AdminOnly, SignedIn};
use crate::components::not_built::NotBuilt;
use crate::pages::{
    account::AccountPage, address::AddressPage, api_reference::ApiReferencePage, audit::AuditPage,
    checks::CheckRunPage, checks::CheckRunsPage, dashboard::DashboardPage, dnsbl::DnsblPage,
    login::LoginPage, network::NetworkPage, networks::NetworksPage, problems::ProblemsPage,
    search::SearchPage, settings::SettingsPage, tokens::TokensPage, users::UsersPage,
};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    crate::server::headers::set_page_policy();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                // The stylesheet by its content-hashed name in a release build.
                <HashedStylesheet options=options.clone() id="leptos"/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Link rel="icon" href="/favicon.ico"/>
        <Title text="ipvet"/>
        <Router>
            <Routes fallback=|| view! { <NotBuilt title="Page not found" text="There is no page at this address."/> }>
                <Route path=path!("/login") view=LoginPage ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=SignedIn ssr=SsrMode::Async>
                    <Route path=path!("") view=DashboardPage ssr=SsrMode::Async/>
                    <Route path=path!("networks") view=NetworksPage ssr=SsrMode::Async/>
                    <Route path=path!("networks/:id") view=NetworkPage ssr=SsrMode::Async/>
                    <Route path=path!("address") view=AddressPage ssr=SsrMode::Async/>
                    <Route path=path!("problems") view=ProblemsPage ssr=SsrMode::Async/>
                    <Route path=path!("dnsbl") view=DnsblPage ssr=SsrMode::Async/>
                    <Route path=path!("checks") view=CheckRunsPage ssr=SsrMode::Async/>
                    <Route path=path!("checks/:id") view=CheckRunPage ssr=SsrMode::Async/>
                    <Route path=path!("settings") view=|| view! { <AdminOnly><SettingsPage/></AdminOnly> } ssr=SsrMode::Async/>
                    <Route path=path!("users") view=|| view! { <AdminOnly><UsersPage/></AdminOnly> } ssr=SsrMode::Async/>
                    <Route path=path!("audit") view=|| view! { <AdminOnly><AuditPage/></AdminOnly> } ssr=SsrMode::Async/>
                    <Route path=path!("tokens") view=TokensPage ssr=SsrMode::Async/>
                    <Route path=path!("api") view=ApiReferencePage ssr=SsrMode::Async/>
                    <Route path=path!("account") view=AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("search") view=SearchPage ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
