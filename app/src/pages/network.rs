//! One network: allocate, and its addresses in numeric order, paged by key, filtered by
//! status, with the actions each role may take on each row.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

use crate::api::addresses::{
    AllocateAddress, BulkForceFree, BulkRelease, ForceFreeAddress, ImportAddresses, ReleaseAddress,
    ReserveAddress, UnreserveAddress,
};
use crate::api::networks::{network_page, EditNetwork, SetNetworkPolicy};
use crate::api::sites::MoveNetwork;
use crate::components::confirm::Confirm;
use crate::components::html_text::DrawnHtml;
use crate::components::outcome::{
    answering, newest_answer_only, notice_text, outcome, outcome_with,
};
use crate::components::query::{id_param, kept, parse_status};
use crate::components::role::current_role;
use crate::components::subnet_map::{MapShown, SubnetMapView};
use crate::error::AppError;
use crate::model::{
    AddressPage, AddressStatus, AddressView, ImportReport, NetworkPage as PageData, NetworkView,
    Notice, Role,
};
use crate::pages::networks::{human_count, list_position};

#[component]
pub fn NetworkPage() -> impl IntoView {
    let role = current_role();
    let params = use_params_map();
    let query = use_query_map();
    let id = move || id_param(&params.read());
    let allocate = ServerAction::<AllocateAddress>::new();
    let release = ServerAction::<ReleaseAddress>::new();
    let reserve = ServerAction::<ReserveAddress>::new();
    let unreserve = ServerAction::<UnreserveAddress>::new();
    let force_free = ServerAction::<ForceFreeAddress>::new();
    let edit = ServerAction::<EditNetwork>::new();
    let set_policy = ServerAction::<SetNetworkPolicy>::new();
    let move_site = ServerAction::<MoveNetwork>::new();
    let import = ServerAction::<ImportAddresses>::new();
    // Bulk changes post a plain form (checkboxes across the table join it by id); these
    // actions only carry a failure back, through the page address, to be shown.
    let bulk_release = ServerAction::<BulkRelease>::new();
    let bulk_force_free = ServerAction::<BulkForceFree>::new();
    // The page's forms: the newest answer alone is shown, and any answer reloads the data.
    let answers = [
        answering(allocate),
        answering(release),
        answering(reserve),
        answering(unreserve),
        answering(force_free),
        answering(edit),
        answering(set_policy),
        answering(move_site),
        answering(import),
    ];
    newest_answer_only(answers);
    let changes = move || answers.map(|(version, _)| version.get());
    // One read for the whole page: the network, its addresses and its map.
    let data = Resource::new(
        move || (id(), query.get(), changes()),
        move |(id, q, _)| async move {
            network_page(
                id,
                q.get("status").as_deref().and_then(parse_status),
                q.get("q"),
                q.get("after"),
                q.get("before"),
                q.get("last").map(|_| true),
                q.get("block"),
            )
            .await
            .map(|page| Shown::new(page, role))
        },
    );
    let net = move || async move { data.await.map(|d| d.network) };
    let site = move || async move { data.await.map(|d| d.site) };
    // The filter part of the page address, kept by the paging links.
    let status_q = move || kept(&query.read(), &["status", "q"]);

    // Force-free asks for a reason in one dialog for the whole page, opened from a row's
    // menu with the row's address. A row itself links to the address's own page, where
    // force-free is asked too: that is where the link goes without JavaScript. A form of
    // its own in each of a hundred rows made the page twice as heavy.
    let forcing = RwSignal::new(String::new());
    let force_dialog = NodeRef::<leptos::html::Dialog>::new();
    let open_force_free = move |address: String| {
        forcing.set(address);
        if let Some(dialog) = force_dialog.get_untracked() {
            let _ = dialog.show_modal();
        }
    };
    let close_force_free = move || {
        if let Some(dialog) = force_dialog.get_untracked() {
            dialog.close();
        }
    };
    Effect::watch(
        move || force_free.version().get(),
        move |_, _, _| {
            if matches!(force_free.value().get_untracked(), Some(Ok(_))) {
                close_force_free();
            }
        },
        false,
    );

    // A row's Force-free… opens the dialog: one handler for the table's rows, which are
    // written out as text (`rows_html`).
    let on_rows_click = move |ev: leptos::ev::MouseEvent| {
        use leptos::wasm_bindgen::JsCast;
        // A click meant for a new tab still opens the page.
        if ev.ctrl_key() || ev.meta_key() || ev.shift_key() {
            return;
        }
        let Some(el) = ev
            .target()
            .and_then(|t| t.dyn_into::<leptos::web_sys::Element>().ok())
        else {
            return;
        };
        // The row names its address once, for every action in it.
        if let Ok(Some(link)) = el.closest(r##"a[href$="#force-free"]"##) {
            if let Some(address) = link
                .closest("tr[data-address]")
                .ok()
                .flatten()
                .and_then(|row| row.get_attribute("data-address"))
            {
                ev.prevent_default();
                open_force_free(address);
            }
        }
    };

    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await.map(|d| (d.network, d.site)) {
                    Ok((n, d_site)) => {
                        view! {
                            <Title text=format!("{} · ipvet", n.cidr)/>
                            <h1>{n.cidr.clone()} " " <span class="muted">{n.name.clone()}</span></h1>
                            <p class="muted">
                                {human_count(&n.free)} " of " {human_count(&n.allocatable)} " allocatable addresses free. "
                                {n.description.clone()}
                            </p>
                            <p class="check-policy">
                                "Checked with "
                                {if n.probes.is_empty() { "the configured probes".to_string() } else { format!("the probes {}", n.probes) }}
                                {if n.dnsbl { " and the DNSBL zones" } else { "; DNSBL off" }}
                                {match &d_site {
                                    Some(name) => view! { ", from the site " <a href="/sites">{name.clone()}</a> " (by its agents)." }.into_any(),
                                    None => ".".into_any(),
                                }}
                            </p>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
        {outcome_with(allocate.value(), |a: &AddressView| notice_text(&Notice::allocated(a)))}
        {outcome_with(release.value(), |a: &AddressView| notice_text(&Notice::released(a)))}
        {outcome_with(reserve.value(), |a: &AddressView| notice_text(&Notice::reserved(a)))}
        {outcome_with(unreserve.value(), |a: &AddressView| notice_text(&Notice::unreserved(a)))}
        {outcome_with(force_free.value(), |a: &AddressView| notice_text(&Notice::force_freed(a)))}
        {outcome(edit.value(), "Network updated.")}
        {outcome(set_policy.value(), "Check policy saved.")}
        {outcome(move_site.value(), "Network moved; from its next claim on, that site's checkers check it.")}
        {outcome(bulk_release.value(), "Released.")}
        {outcome(bulk_force_free.value(), "Freed without checks.")}
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                data.await.ok().map(|d| view! { <SubnetMapView map=d.map/> })
            })}
        </Transition>
        {(role == Role::Admin)
            .then(|| {
                view! {
                    <details class="card edit-network">
                        <summary>"Edit name and description"</summary>
                        <Transition fallback=|| ()>
                            {move || Suspend::new(async move {
                                net()
                                    .await
                                    .ok()
                                    .map(|n| {
                                        view! {
                                            <ActionForm action=edit>
                                                <input type="hidden" name="network_id" value=n.id.to_string()/>
                                                <label>"Name" <input type="text" name="name" required value=n.name/></label>
                                                <label>
                                                    "Description"
                                                    <input type="text" name="description" value=n.description/>
                                                </label>
                                                <button type="submit">"Save"</button>
                                            </ActionForm>
                                        }
                                    })
                            })}
                        </Transition>
                    </details>
                    <details class="card network-site-form">
                        <summary>"Site"</summary>
                        <Transition fallback=|| ()>
                            {move || Suspend::new(async move {
                                let (Ok(n), Ok(at)) = (net().await, site().await) else { return None };
                                Some(view! {
                                    <ActionForm action=move_site>
                                        <input type="hidden" name="network_id" value=n.id.to_string()/>
                                        <label>
                                            "Checked from the site"
                                            <input type="text" name="site" required maxlength="63" autocomplete="off" value=at.unwrap_or_else(|| "local".into())/>
                                        </label>
                                        <p class="muted hint">
                                            <code>"local"</code> ": this server. Any other site's agents check it from inside the network; "
                                            <a href="/sites">"Sites"</a> " lists them."
                                        </p>
                                        <button type="submit">"Move"</button>
                                    </ActionForm>
                                })
                            })}
                        </Transition>
                    </details>
                    <details class="card check-policy-form">
                        <summary>"Check policy"</summary>
                        <Transition fallback=|| ()>
                            {move || Suspend::new(async move {
                                net()
                                    .await
                                    .ok()
                                    .map(|n| {
                                        let chosen = !n.probes.is_empty();
                                        let has = |m: &str| n.probes.split(' ').any(|w| w == m);
                                        let (icmp, tcp, arp) = (has("icmp"), has("tcp"), has("arp"));
                                        view! {
                                            <ActionForm action=set_policy>
                                                <input type="hidden" name="network_id" value=n.id.to_string()/>
                                                <fieldset>
                                                    <legend>"Availability probes"</legend>
                                                    <label class="choice"><input type="radio" name="methods" value="configured" checked=!chosen/> "The configured probes"</label>
                                                    <label class="choice"><input type="radio" name="methods" value="chosen" checked=chosen/> "Only these:"</label>
                                                    <div class="choices">
                                                        <label class="choice"><input type="checkbox" name="icmp" value="on" checked=icmp/> "ICMP echo"</label>
                                                        <label class="choice"><input type="checkbox" name="tcp" value="on" checked=tcp/> "TCP SYN"</label>
                                                        <label class="choice"><input type="checkbox" name="arp" value="on" checked=arp/> "ARP / neighbour discovery (on-link)"</label>
                                                    </div>
                                                </fieldset>
                                                <label class="choice">
                                                    <input type="checkbox" name="dnsbl" value="on" checked=n.dnsbl/>
                                                    " Ask the DNSBL zones"
                                                </label>
                                                <p class="muted hint">"Off by default for private and shared ranges: public lists never hold them, and asking leaks internal addresses."</p>
                                                <button type="submit">"Save policy"</button>
                                            </ActionForm>
                                        }
                                    })
                            })}
                        </Transition>
                    </details>
                }
            })}
        {(role >= Role::Operator)
            .then(|| {
                view! {
                    <section class="card">
                        <h2>"Allocate"</h2>
                        <ActionForm action=allocate>
                            <input type="hidden" name="network_id" value=move || id().to_string()/>
                            <label>"Address" <input type="text" name="address" placeholder="lowest free"/></label>
                            <label>"Owner" <input type="text" name="owner"/></label>
                            <label>"Host name" <input type="text" name="hostname"/></label>
                            <label>"Note" <input type="text" name="note"/></label>
                            <button type="submit">"Allocate"</button>
                        </ActionForm>
                    </section>
                }
            })}
        {(role >= Role::Operator)
            .then(|| {
                view! {
                    <details class="card import">
                        <summary>"Import CSV"</summary>
                        <p class="muted">
                            "One address per line: " <code>"ip,status,owner,hostname,note"</code>
                            " (status defaults to allocated; a header line may name the columns, as the export writes them). "
                            "Only free addresses are imported, and a file with any bad line imports nothing."
                        </p>
                        <ActionForm action=import>
                            <input type="hidden" name="network_id" value=move || id().to_string()/>
                            <label>
                                "CSV"
                                <textarea name="csv" rows="6" required placeholder="198.18.0.10,allocated,Acme,web1.example,"></textarea>
                            </label>
                            <button type="submit">"Import"</button>
                        </ActionForm>
                        {move || import.value().with(|v| v.as_ref().map(import_outcome))}
                    </details>
                    <form id="bulk" method="post" class="bulk">
                        <span class="muted">"Selected:"</span>
                        <Confirm
                            label="Release selected"
                            question="Release every selected address? Each is checked before anyone gets it again, and keeps its holder until the checks free it; if one cannot be released, none is."
                        >
                            <button type="submit" formaction="/api/addresses/bulk_release">"Release the selected addresses"</button>
                        </Confirm>
                        {(role == Role::Admin)
                            .then(|| {
                                view! {
                                    <Confirm
                                        label="Force-free selected"
                                        question="Force-free every selected address without checks? Each becomes free at once and its holder is cleared; if one cannot be freed, none is."
                                    >
                                        <input type="text" name="reason" placeholder="Reason" aria-label="Reason for bulk force-free"/>
                                        <button type="submit" formaction="/api/addresses/bulk_force_free">
                                            "Force-free the selected addresses"
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
                    <option value="">"any"</option>
                    {AddressStatus::ALL
                        .into_iter()
                        .map(|s| {
                            let selected = move || query.read().get("status").as_deref() == Some(s.as_str());
                            view! { <option value=s.as_str() selected=selected>{s.label()}</option> }
                        })
                        .collect_view()}
                </select>
            </label>
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
                match data.await.map(|d| d.rows) {
                    Ok(p) => {
                        let sq = status_q();
                        let position = list_position(p.first_position, p.count, p.total);
                        let pager = |label: &'static str| {
                            let sq = sq.clone();
                            view! {
                                <nav class="pager" aria-label=label>
                                    <span class="position">{position.clone()}</span>
                                    <a href=format!("?{sq}")>"First"</a>
                                    {p.prev_before.clone().map(|b| view! { <a href=format!("?{sq}before={b}")>"Previous"</a> })}
                                    {p.next_after.clone().map(|a| view! { <a href=format!("?{sq}after={a}")>"Next"</a> })}
                                    <a href=format!("?{sq}last=1")>"Last"</a>
                                    <a href=format!("/networks/{}/addresses.csv?{sq}", id()) rel="external" download>
                                        "Export CSV"
                                    </a>
                                </nav>
                            }
                        };
                        let (top, bottom) = (pager("Pages"), pager("Pages, at the end of the list"));
                        view! {
                            {top}
                            // The rows' buttons submit these (their `form` attribute), each
                            // sending its own address: a form per row made a page of a
                            // hundred rows three times heavier.
                            <ActionForm action=release attr:id="row-release" attr:class="row-form">
                                <span hidden></span>
                            </ActionForm>
                            <ActionForm action=reserve attr:id="row-reserve" attr:class="row-form">
                                <input type="hidden" name="note" value=""/>
                            </ActionForm>
                            <ActionForm action=unreserve attr:id="row-unreserve" attr:class="row-form">
                                <span hidden></span>
                            </ActionForm>
                            {(p.count == 0).then(|| view! { <p class="muted">"No addresses here."</p> })}
                            <table class="addresses">
                                <thead>
                                    <tr>
                                        <th></th>
                                        <th>"Address"</th>
                                        <th>"Status"</th>
                                        <th>"Owner"</th>
                                        <th>"Host name"</th>
                                        <th>"Note"</th>
                                        <th>"Since"</th>
                                        <th>"Actions"</th>
                                    </tr>
                                </thead>
                                <tbody inner_html=p.markup.into_markup() on:click=on_rows_click></tbody>
                            </table>
                            {bottom}
                        }
                            .into_any()
                    }
                    // The heading above says what went wrong.
                    Err(_) => ().into_any(),
                }
            })}
        </Transition>
        {(role == Role::Admin)
            .then(|| {
                view! {
                    <dialog node_ref=force_dialog class="force-free" aria-labelledby="force-free-question">
                        <ActionForm action=force_free>
                            <p id="force-free-question">
                                {move || format!("Force-free {} without checks? Its holder is cleared.", forcing.get())}
                            </p>
                            <input type="hidden" name="address" value=move || forcing.get()/>
                            <label>
                                "Reason"
                                <input type="text" name="reason" required autofocus aria-label="Reason for force-free"/>
                            </label>
                            <div class="actions">
                                <button type="submit" class="danger">{move || format!("Force-free {}", forcing.get())}</button>
                                <button type="button" on:click=move |_| close_force_free()>"Cancel"</button>
                            </div>
                        </ActionForm>
                    </dialog>
                }
            })}
    }
}

/// A network page's data as the page keeps it: its rows and its map's cells drawn as text
/// once, by whichever side read the data, and left out of what the page hydrates from
/// ([`DrawnHtml`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Shown {
    network: NetworkView,
    site: Option<String>,
    map: MapShown,
    rows: RowsShown,
}

/// A page of rows: where it lies in the list, and its rows drawn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct RowsShown {
    count: usize,
    total: u64,
    first_position: u64,
    next_after: Option<String>,
    prev_before: Option<String>,
    markup: DrawnHtml,
}

impl Shown {
    fn new(page: PageData, role: Role) -> Self {
        let AddressPage {
            rows,
            total,
            first_position,
            next_after,
            prev_before,
        } = page.addresses;
        Self {
            network: page.network,
            site: page.site,
            map: page.map.into(),
            rows: RowsShown {
                count: rows.len(),
                total,
                first_position,
                next_after,
                prev_before,
                markup: DrawnHtml::new(rows_html(&rows, role)),
            },
        }
    }
}

/// A network page's rows, written out as text: a page draws a hundred, and a view per
/// element of each was most of what the page cost the server. Each row carries its address
/// where it must (its checkbox, link and buttons); its lifecycle button submits the table's
/// shared form for that action (its `form` attribute), and Force-free… opens the page's
/// dialog, or without JavaScript the address's own page at its force-free question. Written
/// as briefly as HTML allows, for the hundred rows' sake: cells and rows end where the next
/// begins (end tags HTML leaves optional), plain words unquoted, columns styled by place.
fn rows_html(rows: &[AddressView], role: Role) -> String {
    use std::fmt::Write;

    use crate::components::html_text::{AttrValue, Escaped};
    use crate::components::status_badge::BadgeHtml;
    use crate::components::when::when_html;

    let mut out = String::with_capacity(rows.len() * 600);
    for a in rows {
        let (ip, value) = (Escaped(&a.address), AttrValue(&a.address));
        let _ = write!(out, "<tr data-address={value}><td>");
        if role >= Role::Operator {
            let _ = write!(
                out,
                r#"<input type=checkbox name=addresses[] value={value} form=bulk aria-label="Select {ip}">"#
            );
        }
        let _ = write!(
            out,
            r#"<td><a href="/address?ip={ip}">{ip}</a><td>{}<td>{}<td>{}<td>{}<td>{}<td>"#,
            BadgeHtml(a.status),
            Escaped(&a.owner),
            Escaped(&a.hostname),
            Escaped(&a.note),
            when_html(&a.status_changed_at),
        );
        let lifecycle = if role < Role::Operator {
            None
        } else {
            match a.status {
                AddressStatus::Allocated => Some(("row-release", "Release")),
                AddressStatus::Free => Some(("row-reserve", "Reserve")),
                AddressStatus::Reserved => Some(("row-unreserve", "Unreserve")),
                _ => None,
            }
        };
        let force = role == Role::Admin && a.status != AddressStatus::Free;
        if lifecycle.is_some() || force {
            let _ = write!(
                out,
                r#"<details class=row-menu><summary aria-label="Actions for {ip}">Actions</summary>"#
            );
            if let Some((form, label)) = lifecycle {
                let _ = write!(
                    out,
                    "<button form={form} name=address value={value}>{label}</button>"
                );
            }
            if force {
                let _ = write!(
                    out,
                    r#"<a href="/address?ip={ip}#force-free">Force-free…</a>"#
                );
            }
            out.push_str("</details>");
        }
    }
    out
}

fn import_outcome(result: &Result<ImportReport, AppError>) -> AnyView {
    match result {
        Ok(r) if r.errors.is_empty() => {
            let unchanged = (r.unchanged > 0).then(|| {
                format!(
                    " {} lines named free addresses and changed nothing.",
                    r.unchanged
                )
            });
            view! {
                <p class="ok" role="status">
                    {format!("Imported {} addresses.", r.imported)} {unchanged}
                </p>
            }
            .into_any()
        }
        Ok(r) => {
            let more = r.error_count.saturating_sub(r.errors.len() as u64);
            view! {
                <div class="error" role="alert">
                    <p>{format!("Nothing was imported: {} lines have errors.", r.error_count)}</p>
                    <ul class="import-errors">
                        {r
                            .errors
                            .iter()
                            .map(|e| view! { <li>{format!("Line {}: {}", e.line, e.message)}</li> })
                            .collect_view()}
                    </ul>
                    {(more > 0).then(|| view! { <p>{format!("… and {more} more.")}</p> })}
                </div>
            }
            .into_any()
        }
        Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
    }
}
