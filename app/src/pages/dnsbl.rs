//! The DNSBL blacklists module: the zones the checks ask, each with its self-test health
//! and the addresses it blocks; adding, renaming, enabling, disabling and deleting zones
//! (admin); and asking the zones about one address (operator).

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::dnsbl::{
    list_zones, AddZone, AskZones, DeleteZone, RenameZone, SetZoneEnabled, TestZone,
};
use crate::components::outcome::outcome;
use crate::components::query::urlencode;
use crate::components::role::current_role;
use crate::error::AppError;
use crate::model::{ipv6_uncovered, Role, ZoneAnswer, ZoneHealth, ZoneView, SUGGESTED_ZONES};

#[component]
pub fn DnsblPage() -> impl IntoView {
    let role = current_role();
    let add = ServerAction::<AddZone>::new();
    let suggest = ServerAction::<AddZone>::new();
    let rename = ServerAction::<RenameZone>::new();
    let enable = ServerAction::<SetZoneEnabled>::new();
    let delete = ServerAction::<DeleteZone>::new();
    let test = ServerAction::<TestZone>::new();
    let ask = ServerAction::<AskZones>::new();
    let zones = Resource::new(
        move || {
            (
                add.version().get(),
                suggest.version().get(),
                rename.version().get(),
                enable.version().get(),
                delete.version().get(),
                test.version().get(),
            )
        },
        |_| list_zones(),
    );

    let row = move |z: ZoneView| {
        let id = z.id.to_string();
        let health = match z.health {
            ZoneHealth::Healthy => {
                view! { <span class="health healthy">"Healthy"</span> }.into_any()
            }
            ZoneHealth::Failing => view! {
                <span class="health failing">"Failing"</span>
                <div class="zone-error">{z.last_error.clone().unwrap_or_default()}</div>
            }
            .into_any(),
            ZoneHealth::NeverTested => {
                view! { <span class="health never">"Never tested"</span> }.into_any()
            }
        };
        let (id1, id2, id3, id4) = (id.clone(), id.clone(), id.clone(), id.clone());
        let zone_name = z.zone.clone();
        view! {
            <tr data-zone=z.zone.clone()>
                <td class="zone">{z.zone.clone()}</td>
                <td>{if z.enabled { "Enabled" } else { "Disabled" }}</td>
                <td class="zone-health">{health}</td>
                <td>{if z.ipv6 { "yes" } else { "no" }}</td>
                <td>{z.last_tested_at.clone().unwrap_or_else(|| "never".into())}</td>
                <td class="num blocking">
                    <a href=format!("/problems?zone={}", urlencode(&z.zone))>{z.blocking}</a>
                </td>
                <td>
                    <div class="actions">
                        {(role >= Role::Operator)
                            .then(|| {
                                view! {
                                    <ActionForm action=test>
                                        <input type="hidden" name="zone_id" value=id1.clone()/>
                                        <button type="submit">"Self-test now"</button>
                                    </ActionForm>
                                }
                            })}
                        {(role == Role::Admin)
                            .then(|| {
                                let enabled = z.enabled;
                                view! {
                                    <ActionForm action=enable>
                                        <input type="hidden" name="zone_id" value=id2.clone()/>
                                        <input type="hidden" name="enabled" value=if enabled { "false" } else { "true" }/>
                                        <button type="submit">{if enabled { "Disable" } else { "Enable" }}</button>
                                    </ActionForm>
                                    <details class="rename">
                                        <summary>"Rename"</summary>
                                        <ActionForm action=rename>
                                            <input type="hidden" name="zone_id" value=id3.clone()/>
                                            <input type="text" name="zone" value=zone_name.clone() required aria-label="New zone name"/>
                                            <button type="submit">"Save"</button>
                                        </ActionForm>
                                    </details>
                                    <ActionForm action=delete>
                                        <input type="hidden" name="zone_id" value=id4.clone()/>
                                        <button type="submit" class="danger">"Delete"</button>
                                    </ActionForm>
                                }
                            })}
                    </div>
                </td>
            </tr>
        }
    };

    view! {
        <Title text="DNSBL blacklists · ipvet"/>
        <h1>"DNSBL blacklists"</h1>
        <p class="muted">
            "Before each cycle every enabled zone tests itself (RFC 5782: 127.0.0.2 must be listed, 127.0.0.1 must not). "
            "A failing zone's answers are not used until it passes again."
        </p>
        {outcome(add.value(), "Zone added.")}
        {outcome(suggest.value(), "Zone added, disabled: read its terms of use, then enable it.")}
        {outcome(rename.value(), "Zone renamed and tested again.")}
        {outcome(enable.value(), "Zone updated.")}
        {outcome(delete.value(), "Zone deleted. Addresses it blocked are checked against the remaining zones in the next cycle.")}
        {outcome(test.value(), "Self-test done.")}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match zones.await {
                    Ok(list) if list.is_empty() => {
                        view! { <p class="empty">"No zones yet: addresses are checked for availability only."</p> }.into_any()
                    }
                    Ok(list) => view! {
                        {ipv6_uncovered(list.iter().map(|z| (z.enabled, z.health, z.ipv6))).then(|| view! {
                            <p class="notice no-ipv6-zone" role="status">
                                "No enabled zone covers IPv6: each healthy zone passes only its IPv4 self-test. "
                                "IPv6 addresses are freed on the availability check alone, and their history says so."
                            </p>
                        })}
                        <table class="zones">
                            <thead>
                                <tr>
                                    <th>"Zone"</th>
                                    <th>"State"</th>
                                    <th>"Health"</th>
                                    <th>"IPv6"</th>
                                    <th>"Last self-test"</th>
                                    <th class="num">"Blocking"</th>
                                    <th>"Actions"</th>
                                </tr>
                            </thead>
                            <tbody>{list.into_iter().map(row).collect_view()}</tbody>
                        </table>
                    }
                    .into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
        {(role == Role::Admin)
            .then(|| {
                view! {
                    <section class="card add-zone">
                        <h2>"Add a zone"</h2>
                        <ActionForm action=add>
                            <label>"Zone" <input type="text" name="zone" required placeholder="dnsbl.example.org"/></label>
                            <button type="submit">"Add zone"</button>
                        </ActionForm>
                    </section>
                    <section class="card suggested">
                        <h2>"Well-known zones"</h2>
                        <p class="muted">
                            "Public blacklists, added disabled: each has its own terms of use (some are free only for "
                            "low volumes or non-commercial use, some refuse queries from public resolvers). Read them, then enable."
                        </p>
                        <Transition fallback=|| ()>
                            {move || Suspend::new(async move {
                                let have: Vec<String> = zones.await.unwrap_or_default().into_iter().map(|z| z.zone).collect();
                                SUGGESTED_ZONES
                                    .into_iter()
                                    .filter(|s| !have.iter().any(|z| z == s.zone))
                                    .map(|s| {
                                        view! {
                                            <ActionForm action=suggest attr:class="suggestion">
                                                <input type="hidden" name="zone" value=s.zone/>
                                                <input type="hidden" name="disabled" value="true"/>
                                                <button type="submit">{format!("Add {}", s.zone)}</button>
                                                <span class="muted">{s.about}</span>
                                            </ActionForm>
                                        }
                                    })
                                    .collect_view()
                            })}
                        </Transition>
                    </section>
                }
            })}
        {(role >= Role::Operator)
            .then(|| {
                view! {
                    <section class="card ask">
                        <h2>"Test an address"</h2>
                        <ActionForm action=ask>
                            <label>"Address" <input type="text" name="address" required placeholder="198.51.100.7"/></label>
                            <label>"Zone" <input type="text" name="zone" placeholder="every zone in the list"/></label>
                            <button type="submit">"Ask"</button>
                        </ActionForm>
                        {move || ask.value().with(|v| v.as_ref().map(answers))}
                    </section>
                }
            })}
    }
}

fn answers(result: &Result<Vec<ZoneAnswer>, AppError>) -> AnyView {
    match result {
        Ok(list) => view! {
            <table class="answers">
                <thead>
                    <tr><th>"Zone"</th><th>"Answer"</th><th>"A"</th><th>"TXT or error"</th><th>"Name asked"</th></tr>
                </thead>
                <tbody>
                    {list
                        .iter()
                        .map(|a| {
                            let said = match a.outcome.as_str() {
                                "listed" => "Listed",
                                "not_listed" => "Not listed",
                                _ => "Error",
                            };
                            view! {
                                <tr data-zone=a.zone.clone() data-outcome=a.outcome.clone()>
                                    <td>{a.zone.clone()}</td>
                                    <td class="outcome">{said}</td>
                                    <td>{a.answer.clone().unwrap_or_default()}</td>
                                    <td>{a.detail.clone().unwrap_or_default()}</td>
                                    <td class="query"><code>{a.query.clone()}</code></td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        }
        .into_any(),
        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
    }
}
