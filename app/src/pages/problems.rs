//! Problem IPs (IPmanager's Statistics → Problem IP): addresses the checks found used in
//! the network or listed by a DNSBL, with the evidence, filters, and the two ways out:
//! re-check now (operator) and release without checks (admin).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::addresses::{BulkForceFree, ForceFreeAddress};
use crate::api::dnsbl::list_zones;
use crate::api::networks::list_networks;
use crate::api::problems::{list_problems, RecheckAddresses};
use crate::components::confirm::Confirm;
use crate::components::outcome::outcome;
use crate::components::query::{kept, parse_status};
use crate::components::role::current_role;
use crate::components::status_badge::StatusBadge;
use crate::components::when::When;
use crate::error::AppError;
use crate::model::{AddressStatus, ProblemView, RecheckOutcome, Role};
use crate::pages::networks::{human_count, list_position};

#[component]
pub fn ProblemsPage() -> impl IntoView {
    let role = current_role();
    let query = use_query_map();
    let recheck = ServerAction::<RecheckAddresses>::new();
    let release = ServerAction::<ForceFreeAddress>::new();
    // The bulk form posts plainly (its checkboxes sit in the rows); a refusal comes back
    // through the page address, and this action shows it. Success is a notice.
    let bulk_release = ServerAction::<BulkForceFree>::new();
    let page = Resource::new(
        move || {
            (
                query.get(),
                recheck.version().get(),
                release.version().get(),
            )
        },
        |(q, _, _)| {
            list_problems(
                q.get("status").as_deref().and_then(parse_status),
                q.get("network").and_then(|n| n.parse().ok()),
                q.get("zone").filter(|z| !z.is_empty()),
                q.get("q"),
                q.get("after"),
                q.get("before"),
                q.get("last").map(|_| true),
            )
        },
    );
    let networks = Resource::new(|| (), |_| list_networks());
    let zones = Resource::new(|| (), |_| list_zones());
    let filter_q = move || kept(&query.read(), &["status", "network", "zone", "q"]);

    let row = move |p: ProblemView| {
        let addr = p.address.clone();
        let (for_recheck, for_release) = (addr.clone(), addr.clone());
        let release_button = format!("Release {addr}");
        view! {
            <tr data-address=addr.clone()>
                <td>
                    {(role >= Role::Operator)
                        .then(|| {
                            view! {
                                <input
                                    type="checkbox"
                                    name="addresses[]"
                                    value=addr.clone()
                                    form="problems-bulk"
                                    aria-label=format!("Select {addr}")
                                />
                            }
                        })}
                </td>
                <td class="ip"><a href=format!("/address?ip={}", p.address)>{p.address.clone()}</a></td>
                <td><a href=format!("/networks/{}", p.network_id)>{p.network_cidr.clone()}</a></td>
                <td><StatusBadge status=p.status/></td>
                <td class="found-by">{p.found_by()}</td>
                <td class="evidence">
                    {p.problem.clone().unwrap_or_default()}
                    {p
                        .last_check_error
                        .clone()
                        .map(|e| view! { <div class="muted check-error">{format!("Latest check could not tell: {e}")}</div> })}
                </td>
                <td class="when"><When at=p.problem_since.clone().unwrap_or_default()/></td>
                <td class="when"><When at=p.last_checked_at.clone().unwrap_or_default()/></td>
                <td class="num failed-checks">{p.failed_checks}</td>
                <td>
                    <div class="actions">
                        {(role >= Role::Operator)
                            .then(|| {
                                view! {
                                    <ActionForm action=recheck>
                                        <input type="hidden" name="addresses[]" value=for_recheck.clone()/>
                                        <button type="submit">"Re-check now"</button>
                                    </ActionForm>
                                }
                            })}
                        {(role == Role::Admin)
                            .then(|| {
                                view! {
                                    <Confirm
                                        label="Release"
                                        question=format!(
                                            "Release {} without checks? It becomes free at once, whatever answers on it in the network.",
                                            p.address,
                                        )
                                    >
                                        <ActionForm action=release>
                                            <input type="hidden" name="address" value=for_release.clone()/>
                                            <input type="text" name="reason" placeholder="Reason" required aria-label="Reason for release"/>
                                            <button type="submit">{release_button.clone()}</button>
                                        </ActionForm>
                                    </Confirm>
                                }
                            })}
                    </div>
                </td>
            </tr>
        }
    };

    view! {
        <Title text="Problem IPs · ipvet"/>
        <h1>"Problem IPs"</h1>
        <p class="muted">
            "Addresses the checks found used in the network or listed by a DNS blacklist. Each cycle checks them again; "
            "one that passes both checks becomes free. Releasing one here frees it at once, without checks."
        </p>
        {move || recheck.value().with(|v| v.as_ref().map(recheck_outcome))}
        {outcome(release.value(), "Released: the address is free, without checks.")}
        {outcome(bulk_release.value(), "Released without checks.")}
        {(role >= Role::Operator)
            .then(|| {
                view! {
                    <form id="problems-bulk" method="post" class="bulk">
                        <span class="muted">"Selected:"</span>
                        // A re-check needs no reason: the release's required reason must not stop it.
                        <button type="submit" formaction="/api/problems/recheck" formnovalidate=true>"Re-check selected"</button>
                        {(role == Role::Admin)
                            .then(|| {
                                view! {
                                    <Confirm
                                        label="Release selected"
                                        question="Release every selected address without checks? Each becomes free at once; if one cannot be released, none is."
                                    >
                                        <input type="text" name="reason" placeholder="Reason" required aria-label="Reason for bulk release"/>
                                        <button type="submit" formaction="/api/addresses/bulk_force_free">
                                            "Release the selected addresses"
                                        </button>
                                    </Confirm>
                                }
                            })}
                    </form>
                }
            })}
        <form method="get" class="filter">
            <label>
                "Status"
                <select name="status">
                    <option value="">"any problem"</option>
                    {AddressStatus::PROBLEMS
                        .into_iter()
                        .map(|s| {
                            let selected = move || query.read().get("status").as_deref() == Some(s.as_str());
                            view! { <option value=s.as_str() selected=selected>{s.label()}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    let nets = networks.await.unwrap_or_default();
                    let zones = zones.await.unwrap_or_default();
                    view! {
                        <label>
                            "Network"
                            <select name="network">
                                <option value="">"any"</option>
                                {nets
                                    .into_iter()
                                    .map(|n| {
                                        let id = n.id.to_string();
                                        let selected = {
                                            let id = id.clone();
                                            move || query.read().get("network").as_deref() == Some(id.as_str())
                                        };
                                        view! { <option value=id selected=selected>{n.cidr}</option> }
                                    })
                                    .collect_view()}
                            </select>
                        </label>
                        <label>
                            "DNSBL zone"
                            <select name="zone">
                                <option value="">"any"</option>
                                {zones
                                    .into_iter()
                                    .map(|z| {
                                        let selected = {
                                            let zone = z.zone.clone();
                                            move || query.read().get("zone").as_deref() == Some(zone.as_str())
                                        };
                                        view! { <option value=z.zone.clone() selected=selected>{z.zone.clone()}</option> }
                                    })
                                    .collect_view()}
                            </select>
                        </label>
                    }
                })}
            </Transition>
            <label>
                "Search"
                <input
                    type="search"
                    name="q"
                    placeholder="address, 198.18.3, host name or owner"
                    value=move || query.read().get("q").unwrap_or_default()
                />
            </label>
            <button type="submit">"Filter"</button>
        </form>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(p) if p.rows.is_empty() => {
                        let last = match &p.last_run {
                            Some(r) => match &r.finished_at {
                                Some(end) => format!("The checks last ran at {end} (cycle {})", r.id),
                                None => format!("A check cycle (cycle {}) is running since {}", r.id, r.started_at),
                            },
                            None => "No check cycle has run yet".to_string(),
                        };
                        let what = if filter_q().is_empty() {
                            "No problem addresses."
                        } else {
                            "No problem addresses match this filter."
                        };
                        view! { <p class="empty">{what} " " {last} "."</p> }.into_any()
                    }
                    Ok(p) => {
                        let fq = filter_q();
                        let position = list_position(p.first_position, p.rows.len(), p.matching);
                        let pager = |label: &'static str| {
                            let fq = fq.clone();
                            view! {
                                <nav class="pager" aria-label=label>
                                    <span class="position">{position.clone()}</span>
                                    <a href=format!("?{fq}")>"First"</a>
                                    {p.prev_before.clone().map(|b| view! { <a href=format!("?{fq}before={b}")>"Previous"</a> })}
                                    {p.next_after.clone().map(|a| view! { <a href=format!("?{fq}after={a}")>"Next"</a> })}
                                    <a href=format!("?{fq}last=1")>"Last"</a>
                                </nav>
                            }
                        };
                        let (top, bottom) = (pager("Pages"), pager("Pages, at the end of the list"));
                        let matching = match p.matching {
                            1 => "1 problem address.".to_string(),
                            n => format!("{} problem addresses.", human_count(&n.to_string())),
                        };
                        view! {
                            <p class="muted matching">{matching}</p>
                            {top}
                            <table class="problems">
                                <thead>
                                    <tr>
                                        <th></th>
                                        <th>"Address"</th>
                                        <th>"Network"</th>
                                        <th>"Status"</th>
                                        <th>"Found by"</th>
                                        <th>"Problem"</th>
                                        <th>"Time of occurrence"</th>
                                        <th>"Last checked"</th>
                                        <th class="num">"Failed checks"</th>
                                        <th>"Actions"</th>
                                    </tr>
                                </thead>
                                <tbody>{p.rows.into_iter().map(row).collect_view()}</tbody>
                            </table>
                            {bottom}
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

fn recheck_outcome(result: &Result<Vec<RecheckOutcome>, AppError>) -> AnyView {
    match result {
        Ok(outcomes) => view! {
            <div class="ok recheck-outcome" role="status">
                <ul>
                    {outcomes
                        .iter()
                        .map(|o| {
                            let moved = if o.from == o.to {
                                format!("{}: still {}", o.address, o.to.label().to_lowercase())
                            } else {
                                format!("{}: {} → {}", o.address, o.from.label(), o.to.label())
                            };
                            view! { <li data-address=o.address.clone()>{moved} " (" {o.detail.clone()} ")"</li> }
                        })
                        .collect_view()}
                </ul>
            </div>
        }
        .into_any(),
        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
    }
}
