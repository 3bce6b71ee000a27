//! The HTML shell and the router. Every page renders completely on the server (async SSR
//! mode), so it works without JavaScript; hydrated, it works the same.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, Link, MetaTags, Title};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, Lazy, SsrMode};

use crate::components::layout::SignedIn;
use crate::components::not_built::NotBuilt;
use crate::pages::dashboard::DashboardPage;
use crate::pages::on_demand;

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
    // On the server, the pages loaded on demand are drawn under an owner of their own that
    // keeps the list of chunks they would have the browser preload to itself. Leptos's
    // server integration otherwise wrote a `<link rel="preload">` for each of the hundred
    // chunks a network's page needs after drawing every such page, and read the contexts
    // for it outside the request's own: on most requests the links went nowhere (with a
    // warning on standard error each), on some into the page (15 KB), and making them was
    // a twentieth of a network page's server time. The browser fetches a page's chunks
    // when it loads the page; a later visit finds them in its cache (kept a year).
    #[cfg(feature = "ssr")]
    {
        let pages = Owner::new();
        Owner::on_cleanup({
            let pages = pages.clone();
            move || drop(pages)
        });
        pages.with(|| {
            provide_context(leptos::PrefetchLazyFn::default());
            routes()
        })
    }
    #[cfg(not(feature = "ssr"))]
    routes()
}

/// The site's head defaults and its pages.
fn routes() -> impl IntoView {
    view! {
        <Link rel="icon" href="/favicon.ico"/>
        <Title text="ipvet"/>
        <Router>
            <Routes fallback=|| view! { <NotBuilt title="Page not found" text="There is no page at this address."/> }>
                <Route path=path!("/login") view={Lazy::<on_demand::Login>::new()} ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=SignedIn ssr=SsrMode::Async>
                    <Route path=path!("") view=DashboardPage ssr=SsrMode::Async/>
                    <Route path=path!("networks") view={Lazy::<on_demand::Networks>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("networks/:id") view={Lazy::<on_demand::Network>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("address") view={Lazy::<on_demand::Address>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("problems") view={Lazy::<on_demand::Problems>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("dnsbl") view={Lazy::<on_demand::Dnsbl>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("checks") view={Lazy::<on_demand::CheckRuns>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("checks/:id") view={Lazy::<on_demand::CheckRun>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("sites") view={Lazy::<on_demand::Sites>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("settings") view={Lazy::<on_demand::Settings>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("users") view={Lazy::<on_demand::Users>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("alerts") view={Lazy::<on_demand::Alerts>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("audit") view={Lazy::<on_demand::Audit>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("tokens") view={Lazy::<on_demand::Tokens>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("api") view={Lazy::<on_demand::ApiReference>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("account") view={Lazy::<on_demand::Account>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("search") view={Lazy::<on_demand::Search>::new()} ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}
