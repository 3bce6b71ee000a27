//! The pages the browser loads on demand. Built with `cargo leptos --split`, each page here
//! is a chunk of its own, fetched the first time it is shown (the server names the chunk a
//! page it draws needs, so the browser fetches it beside the main bundle); the dashboard,
//! the frame and what they share stay in the main bundle, so a first visit downloads what
//! the dashboard needs and no more. Without `--split` they are ordinary routes.

use leptos::prelude::*;
use leptos_router::{lazy_route, LazyRoute};

use crate::components::layout::AdminOnly;
use crate::pages::{
    account::AccountPage, address::AddressPage, alerts::AlertsPage,
    api_reference::ApiReferencePage, audit::AuditPage, checks::CheckRunPage, checks::CheckRunsPage,
    dnsbl::DnsblPage, login::LoginPage, network::NetworkPage, networks::NetworksPage,
    problems::ProblemsPage, search::SearchPage, settings::SettingsPage, sites::SitesPage,
    tokens::TokensPage, users::UsersPage,
};

/// A route whose page is loaded on demand: `$route` draws `$page`.
macro_rules! on_demand {
    ($route:ident, $page:expr) => {
        pub struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                $page.into_any()
            }
        }
    };
}

on_demand!(Login, view! { <LoginPage/> });
on_demand!(Networks, view! { <NetworksPage/> });
on_demand!(Network, view! { <NetworkPage/> });
on_demand!(Address, view! { <AddressPage/> });
on_demand!(Problems, view! { <ProblemsPage/> });
on_demand!(Dnsbl, view! { <DnsblPage/> });
on_demand!(CheckRuns, view! { <CheckRunsPage/> });
on_demand!(CheckRun, view! { <CheckRunPage/> });
on_demand!(Sites, view! { <SitesPage/> });
on_demand!(Settings, view! { <AdminOnly><SettingsPage/></AdminOnly> });
on_demand!(Users, view! { <AdminOnly><UsersPage/></AdminOnly> });
on_demand!(Audit, view! { <AdminOnly><AuditPage/></AdminOnly> });
on_demand!(Alerts, view! { <AdminOnly><AlertsPage/></AdminOnly> });
on_demand!(Tokens, view! { <TokensPage/> });
on_demand!(ApiReference, view! { <ApiReferencePage/> });
on_demand!(Account, view! { <AccountPage/> });
on_demand!(Search, view! { <SearchPage/> });
