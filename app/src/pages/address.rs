//! One address: its fields, what the caller's role may do to it here (edit the holder,
//! allocate, release, reserve, unreserve, force-free), and its full history with the
//! checks' evidence.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::addresses::{
    address_detail, AllocateAddress, EditAddress, ForceFreeAddress, ReleaseAddress, ReserveAddress,
    UnreserveAddress,
};
use crate::components::confirm::Confirm;
use crate::components::outcome::{answering, newest_answer_only, notice_text, outcome_with};
use crate::components::role::current_role;
use crate::components::status_badge::StatusBadge;
use crate::components::when::When;
use crate::model::{AddressStatus, AddressView, Notice, Role};

#[component]
pub fn AddressPage() -> impl IntoView {
    let role = current_role();
    let query = use_query_map();
    let allocate = ServerAction::<AllocateAddress>::new();
    let edit = ServerAction::<EditAddress>::new();
    let release = ServerAction::<ReleaseAddress>::new();
    let reserve = ServerAction::<ReserveAddress>::new();
    let unreserve = ServerAction::<UnreserveAddress>::new();
    let force_free = ServerAction::<ForceFreeAddress>::new();
    // The page's forms: the newest answer alone is shown, and any answer reloads the data.
    let answers = [
        answering(allocate),
        answering(edit),
        answering(release),
        answering(reserve),
        answering(unreserve),
        answering(force_free),
    ];
    newest_answer_only(answers);
    let changes = move || answers.map(|(version, _)| version.get());
    let detail = Resource::new(
        move || (query.read().get("ip").unwrap_or_default(), changes()),
        |(ip, _)| address_detail(ip),
    );
    let actions = move |a: AddressView| {
        let status = a.status;
        // Each form names the address in a hidden field of its own.
        let hidden = |addr: String| view! { <input type="hidden" name="address" value=addr/> };
        let [h_edit, h_release, h_reserve, h_unreserve, h_free] =
            std::array::from_fn(|_| hidden(a.address.clone()));
        let force_free_button = format!("Force-free {}", a.address);
        let force_free_question = format!(
            "Force-free {} without checks? It becomes free at once, whatever answers on it in the network, and its holder is cleared.",
            a.address
        );
        let (owner, hostname, note) = (a.owner.clone(), a.hostname.clone(), a.note.clone());
        let network_id = a.network_id.to_string();
        let operator = role >= Role::Operator;
        view! {
            <section class="card address-actions" aria-label="Actions">
                <h2>"Actions"</h2>
                {(operator && status == AddressStatus::Allocated)
                    .then(|| {
                        view! {
                            <ActionForm action=edit attr:class="edit-holder">
                                {h_edit}
                                <label>"Owner" <input type="text" name="owner" value=owner/></label>
                                <label>"Host name" <input type="text" name="hostname" value=hostname/></label>
                                <label>"Note" <input type="text" name="note" value=note/></label>
                                <button type="submit">"Save holder"</button>
                            </ActionForm>
                            <ActionForm action=release>
                                {h_release}
                                <button type="submit">"Release"</button>
                                <span class="muted hint">" It is checked before anyone gets it again."</span>
                            </ActionForm>
                        }
                    })}
                {(operator && status == AddressStatus::Free)
                    .then(|| {
                        view! {
                            <ActionForm action=allocate attr:class="allocate-here">
                                <input type="hidden" name="network_id" value=network_id/>
                                <input type="hidden" name="address" value=a.address.clone()/>
                                <label>"Owner" <input type="text" name="owner"/></label>
                                <label>"Host name" <input type="text" name="hostname"/></label>
                                <label>"Note" <input type="text" name="note"/></label>
                                <button type="submit">"Allocate"</button>
                            </ActionForm>
                            <ActionForm action=reserve attr:class="reserve-here">
                                {h_reserve}
                                <label>"Reason" <input type="text" name="note" placeholder="why it is held back"/></label>
                                <button type="submit">"Reserve"</button>
                            </ActionForm>
                        }
                    })}
                {(operator && status == AddressStatus::Reserved)
                    .then(|| {
                        view! {
                            <ActionForm action=unreserve>
                                {h_unreserve}
                                <button type="submit">"Unreserve"</button>
                            </ActionForm>
                        }
                    })}
                {(role == Role::Admin && status != AddressStatus::Free)
                    .then(|| {
                        view! {
                            <Confirm label="Force-free" question=force_free_question attr:id="force-free">
                                <ActionForm action=force_free>
                                    {h_free}
                                    <input type="text" name="reason" placeholder="Reason" required aria-label="Reason for force-free"/>
                                    <button type="submit">{force_free_button}</button>
                                </ActionForm>
                            </Confirm>
                        }
                    })}
                {(!operator).then(|| view! { <p class="muted">"Viewers see addresses; operators change them."</p> })}
                {(operator && role != Role::Admin && !matches!(status, AddressStatus::Free | AddressStatus::Allocated | AddressStatus::Reserved))
                    .then(|| view! { <p class="muted">"The checks decide what happens next; an admin can force-free it."</p> })}
            </section>
        }
    };
    view! {
        {outcome_with(allocate.value(), |a: &AddressView| notice_text(&Notice::allocated(a)))}
        {outcome_with(edit.value(), |a: &AddressView| notice_text(&Notice::edited(a)))}
        {outcome_with(release.value(), |a: &AddressView| notice_text(&Notice::released(a)))}
        {outcome_with(reserve.value(), |a: &AddressView| notice_text(&Notice::reserved(a)))}
        {outcome_with(unreserve.value(), |a: &AddressView| notice_text(&Notice::unreserved(a)))}
        {outcome_with(force_free.value(), |a: &AddressView| notice_text(&Notice::force_freed(a)))}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => {
                        let a = d.address;
                        view! {
                            <Title text=format!("{} · ipvet", a.address)/>
                            <h1>{a.address.clone()} " " <StatusBadge status=a.status/></h1>
                            <dl class="fields">
                                <dt>"Network"</dt>
                                <dd><a href=format!("/networks/{}", a.network_id)>{d.network_cidr}</a></dd>
                                <dt>"Checked with"</dt>
                                <dd class="check-policy">{d.check_policy}</dd>
                                <dt>"Owner"</dt>
                                <dd>{a.owner.clone()}</dd>
                                <dt>"Host name"</dt>
                                <dd>{a.hostname.clone()}</dd>
                                <dt>"Note"</dt>
                                <dd>{a.note.clone()}</dd>
                                <dt>"Status since"</dt>
                                <dd><When at=a.status_changed_at.clone()/></dd>
                                <dt>"Last checked"</dt>
                                <dd><When at=a.last_checked_at.clone().unwrap_or_else(|| "never".into())/></dd>
                                <dt>"Problem"</dt>
                                <dd>{a.problem.clone().unwrap_or_else(|| "none".into())}</dd>
                            </dl>
                            {actions(a)}
                            <h2>"History"</h2>
                            {d.history.is_empty().then(|| view! { <p class="muted no-history">"No change yet: nobody has held this address."</p> })}
                            <ol class="timeline">
                                {d
                                    .history
                                    .into_iter()
                                    .map(|e| {
                                        view! {
                                            <li>
                                                <span class="when"><When at=e.at/></span>
                                                " " <strong>{e.actor}</strong> " "
                                                <StatusBadge status=e.from/> " → " <StatusBadge status=e.to/>
                                                {(!e.reason.is_empty()).then(|| view! { <span class="reason">" — " {e.reason.clone()}</span> })}
                                                {e.holder.map(|h| view! { <div class="holder muted">"Holder: " {h}</div> })}
                                                {e.evidence.map(|ev| view! { <pre class="evidence">{ev}</pre> })}
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ol>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}
