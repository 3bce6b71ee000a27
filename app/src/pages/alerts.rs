//! Alerts (admin): where ipvet tells of addresses becoming problems, problems clearing,
//! failing zones and cycles. Each target with its filters, "send a test", and its delivery
//! log; a form to add one.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::alerts::{
    list_alert_targets, AddAlertTarget, DeleteAlertTarget, SetAlertTargetEnabled, TestAlertTarget,
};
use crate::api::networks::list_networks;
use crate::components::confirm::Confirm;
use crate::components::outcome::outcome;
use crate::model::{AlertDeliveryView, AlertTargetView, ALERT_EVENTS};

fn kind_name(kind: &str) -> &'static str {
    match kind {
        "webhook" => "Webhook (signed JSON)",
        "chat" => "Chat webhook (Slack, Teams)",
        "email" => "E-mail",
        _ => "Unknown",
    }
}

fn event_name(kind: &str) -> &'static str {
    ALERT_EVENTS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("unknown event", |(_, words)| *words)
}

fn delivery_row(d: AlertDeliveryView) -> impl IntoView {
    let status = match d.status.as_str() {
        "delivered" => "Delivered",
        "failed" => "Failed",
        _ => "Waiting to retry",
    };
    let when = match (&d.status[..], &d.delivered_at, &d.next_attempt_at) {
        ("delivered", Some(at), _) => at.clone(),
        ("pending", _, Some(next)) => format!("next try {next}"),
        _ => d.last_attempt_at.clone().unwrap_or_default(),
    };
    view! {
        <tr data-delivery=d.id.to_string() data-status=d.status.clone()>
            <td class="when">{d.created_at.clone()}</td>
            <td>{if d.test { "Test".to_string() } else { format!("{} event{}", d.events, if d.events == 1 { "" } else { "s" }) }}</td>
            <td class=format!("delivery-status {}", d.status)>{status}</td>
            <td class="num">{d.attempts}</td>
            <td class="when">{when}</td>
            <td class="delivery-error">{d.last_error.clone().unwrap_or_default()}</td>
        </tr>
    }
}

#[component]
pub fn AlertsPage() -> impl IntoView {
    // Set once the page's script runs (effects run only in the browser).
    let scripted = RwSignal::new(false);
    Effect::new(move |_| scripted.set(true));
    let add = ServerAction::<AddAlertTarget>::new();
    // The kind chosen in the form, which decides which of its fields apply.
    let kind = RwSignal::new(String::from("webhook"));
    let enable = ServerAction::<SetAlertTargetEnabled>::new();
    let delete = ServerAction::<DeleteAlertTarget>::new();
    let test = ServerAction::<TestAlertTarget>::new();
    let targets = Resource::new(
        move || {
            (
                add.version().get(),
                enable.version().get(),
                delete.version().get(),
                test.version().get(),
            )
        },
        |_| list_alert_targets(),
    );
    let networks = Resource::new(|| (), |_| list_networks());

    let card = move |t: AlertTargetView| {
        let id = t.id.to_string();
        let (id1, id2, id3) = (id.clone(), id.clone(), id.clone());
        let events = if t.events.is_empty() {
            "Every event".to_string()
        } else {
            t.events
                .iter()
                .map(|k| event_name(k))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let networks = if t.networks.is_empty() {
            "Every network".to_string()
        } else {
            t.networks
                .iter()
                .map(|(_, cidr)| cidr.clone())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let enabled = t.enabled;
        let deliveries = t.deliveries.clone();
        let delete_label = format!("Delete {}", t.name);
        view! {
            <section class="card alert-target" data-target=t.name.clone()>
                <header class="target-head">
                    <h2>{t.name.clone()}</h2>
                    <span class="kind">{kind_name(&t.kind)}</span>
                    <span class=if enabled { "state on" } else { "state off" }>
                        {if enabled { "Enabled" } else { "Disabled" }}
                    </span>
                </header>
                <dl class="target-facts">
                    <dt>"Sends to"</dt>
                    <dd class="destination"><code>{t.destination.clone()}</code></dd>
                    <dt>"Events"</dt>
                    <dd class="events">{events}</dd>
                    <dt>"Networks"</dt>
                    <dd class="networks">{networks}</dd>
                    <dt>"Waiting"</dt>
                    <dd class="waiting">{format!("{} event{}", t.waiting, if t.waiting == 1 { "" } else { "s" })}</dd>
                    <dt>"Added"</dt>
                    <dd>{format!("{} by {}", t.created_at, t.created_by)}</dd>
                </dl>
                <div class="actions">
                    <ActionForm action=test>
                        <input type="hidden" name="target_id" value=id1.clone()/>
                        <button type="submit">"Send a test"</button>
                    </ActionForm>
                    <ActionForm action=enable>
                        <input type="hidden" name="target_id" value=id2.clone()/>
                        <input type="hidden" name="enabled" value=if enabled { "false" } else { "true" }/>
                        <button type="submit">{if enabled { "Disable" } else { "Enable" }}</button>
                    </ActionForm>
                    <Confirm
                        label="Delete"
                        question=format!(
                            "Delete the alert target “{}” with its delivery log? Events it has not been told yet are dropped.",
                            t.name,
                        )
                    >
                        <ActionForm action=delete>
                            <input type="hidden" name="target_id" value=id3.clone()/>
                            <button type="submit" class="danger">{delete_label.clone()}</button>
                        </ActionForm>
                    </Confirm>
                </div>
                <h3>"Deliveries"</h3>
                {if deliveries.is_empty() {
                    view! { <p class="muted empty-log">"Nothing sent yet."</p> }.into_any()
                } else {
                    view! {
                        <div class="table-wrap">
                            <table class="deliveries">
                                <thead>
                                    <tr>
                                        <th>"Made"</th>
                                        <th>"Carries"</th>
                                        <th>"Status"</th>
                                        <th class="num">"Tries"</th>
                                        <th>"When"</th>
                                        <th>"Last error"</th>
                                    </tr>
                                </thead>
                                <tbody>{deliveries.into_iter().map(delivery_row).collect_view()}</tbody>
                            </table>
                        </div>
                    }.into_any()
                }}
            </section>
        }
    };

    let made = move || {
        add.value().with(|v| match v {
            Some(Ok(made)) => Some(view! {
                <section class="card secret" role="status">
                    <h2>{format!("Alert target “{}” added", made.target.name)}</h2>
                    {match &made.secret {
                        Some(secret) => view! {
                            <p>"Copy its signing secret now: it is shown this once."</p>
                            <p><code class="secret-value" data-secret="">{secret.clone()}</code></p>
                            <p class="muted">
                                "Each request carries " <code>"X-Ipvet-Timestamp"</code> " and "
                                <code>"X-Ipvet-Signature: v1=<hex HMAC-SHA256 of \"timestamp.body\">"</code>
                                "; refuse a timestamp older than a few minutes."
                            </p>
                        }.into_any(),
                        None => view! { <p>"Send a test to see that it arrives."</p> }.into_any(),
                    }}
                </section>
            }.into_any()),
            Some(Err(e)) => Some(view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any()),
            None => None,
        })
    };

    view! {
        <Title text="Alerts · ipvet"/>
        <h1>"Alerts"</h1>
        <p class="muted">
            "ipvet tells these targets when addresses become problems or stop being ones, when a DNSBL zone "
            "fails or passes again, when check cycles fail or stop ending, and when an instance's probes "
            "cannot work. Each change is told once; what one cycle finds arrives as one message."
        </p>
        {outcome(test.value(), "Test sent; its delivery is in the target's log.")}
        {move || test.value().with(|v| match v {
            Some(Ok(d)) if d.status == "failed" => Some(view! {
                <p class="error" role="alert">{format!("The test did not arrive: {}", d.last_error.clone().unwrap_or_default())}</p>
            }),
            _ => None,
        })}
        {outcome(enable.value(), "Target updated.")}
        {outcome(delete.value(), "Target deleted.")}
        {made}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match targets.await {
                    Ok(list) if list.is_empty() => view! {
                        <p class="empty">"No alert targets yet: nobody is told when addresses become problems."</p>
                    }.into_any(),
                    Ok(list) => list.into_iter().map(card).collect_view().into_any(),
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
        <section class="card add-target">
            <h2>"Add a target"</h2>
            <p class="notice needs-script" hidden=move || scripted.get()>
                "Adding a target needs JavaScript: a webhook's signing secret is shown once, on this page."
            </p>
            <ActionForm action=add attr:hidden=move || !scripted.get() attr:class="target-form">
                <div class="form-grid">
                    <label>"Name" <input type="text" name="target[name]" required maxlength="100" autocomplete="off" placeholder="noc-webhook"/></label>
                    <label>
                        "Kind"
                        <select name="target[kind]" on:change=move |ev| kind.set(event_target_value(&ev))>
                            <option value="webhook">"Webhook (signed JSON)"</option>
                            <option value="chat">"Chat webhook (Slack, Teams)"</option>
                            <option value="email">"E-mail"</option>
                        </select>
                    </label>
                </div>
                // Only the chosen kind's fields are shown and sent: a disabled fieldset's
                // fields are not part of the post.
                <fieldset class="web-fields" disabled=move || kind.get() == "email" hidden=move || kind.get() == "email">
                    <legend>"Webhook or chat webhook"</legend>
                    <div class="form-grid">
                        <label>"URL" <input type="url" name="target[url]" maxlength="2000" placeholder="https://hooks.example.net/ipvet"/></label>
                        <label hidden=move || kind.get() != "webhook">
                            "Signing secret (webhook)"
                            <input type="password" name="target[secret]" maxlength="256" autocomplete="new-password" placeholder="empty: ipvet makes one" disabled=move || kind.get() != "webhook"/>
                        </label>
                    </div>
                </fieldset>
                <fieldset class="mail-fields" disabled=move || kind.get() != "email" hidden=move || kind.get() != "email">
                    <legend>"E-mail"</legend>
                    <div class="form-grid">
                        <label>"SMTP server" <input type="text" name="target[smtp_host]" maxlength="253" placeholder="smtp.example.net"/></label>
                        <label>"Port" <input type="text" name="target[smtp_port]" inputmode="numeric" maxlength="5" placeholder="587"/></label>
                        <label>
                            "Security"
                            <select name="target[smtp_security]">
                                <option value="starttls">"STARTTLS"</option>
                                <option value="tls">"TLS (SMTPS)"</option>
                                <option value="none">"None (local relay, no password)"</option>
                            </select>
                        </label>
                        <label>"User" <input type="text" name="target[smtp_user]" maxlength="256" autocomplete="off"/></label>
                        <label>"Password" <input type="password" name="target[smtp_password]" maxlength="256" autocomplete="new-password"/></label>
                        <label>"From" <input type="text" name="target[mail_from]" maxlength="256" placeholder="ipvet@example.net"/></label>
                        <label>"To" <input type="text" name="target[mail_to]" maxlength="2600" placeholder="noc@example.net, oncall@example.net"/></label>
                    </div>
                </fieldset>
                <fieldset class="event-filter">
                    <legend>"Events (none ticked: every event)"</legend>
                    {ALERT_EVENTS.iter().map(|(kind, words)| view! {
                        <label class="check"><input type="checkbox" name="target[events][]" value=*kind/>{*words}</label>
                    }).collect_view()}
                </fieldset>
                <fieldset>
                    <legend>"Networks (none chosen: every network)"</legend>
                    <Transition fallback=|| view! { <select multiple=true disabled=true></select> }>
                        {move || Suspend::new(async move {
                            let list = networks.await.unwrap_or_default();
                            view! {
                                <select name="target[networks][]" multiple=true size="5" aria-label="Networks whose address events this target is told of">
                                    {list.into_iter().map(|n| view! {
                                        <option value=n.id.to_string()>{format!("{} {}", n.cidr, n.name)}</option>
                                    }).collect_view()}
                                </select>
                            }
                        })}
                    </Transition>
                    <p class="muted">"Zone, cycle and prober events concern every network and pass this filter."</p>
                </fieldset>
                <button type="submit">"Add target"</button>
            </ActionForm>
        </section>
    }
}
