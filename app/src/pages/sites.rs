//! Sites: where each network is checked from. `local` is the ipvet instances themselves;
//! every other site is checked by its agents (`ipvet agent`), and a site without a live
//! agent says so loudly: its addresses are not checked, and none is freed, until one
//! connects. Admins make sites and agents, move networks, revoke agents.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::sites::{list_sites, AddAgent, AddSite, DeleteSite, MoveNetwork, RevokeAgent};
use crate::components::confirm::Confirm;
use crate::components::outcome::outcome;
use crate::components::role::current_role;
use crate::components::when::When;
use crate::model::{AgentView, Role, SiteView};

#[component]
pub fn SitesPage() -> impl IntoView {
    let admin = current_role() >= Role::Admin;
    let scripted = RwSignal::new(false);
    Effect::new(move |_| scripted.set(true));
    let add_site = ServerAction::<AddSite>::new();
    let delete_site = ServerAction::<DeleteSite>::new();
    let move_network = ServerAction::<MoveNetwork>::new();
    let add_agent = ServerAction::<AddAgent>::new();
    let revoke = ServerAction::<RevokeAgent>::new();
    let sites = Resource::new(
        move || {
            (
                add_site.version().get(),
                delete_site.version().get(),
                move_network.version().get(),
                add_agent.version().get(),
                revoke.version().get(),
            )
        },
        |_| list_sites(),
    );
    let secret = move || {
        add_agent.value().with(|v| match v {
            Some(Ok(made)) => Some(view! {
                <section class="card secret" role="status">
                    <h2>{format!("Agent “{}”", made.agent.name)}</h2>
                    <p>"Copy its token now: it is shown this once and ipvet keeps only its hash."</p>
                    <p><code class="secret-value" data-secret="">{made.secret.clone()}</code></p>
                    <p class="muted">"Run it inside the site's network:"</p>
                    <pre class="command">{format!(
                        "IPVET_AGENT_TOKEN={} ipvet agent --server https://<this server>",
                        made.secret
                    )}</pre>
                </section>
            }),
            _ => None,
        })
    };
    view! {
        <Title text="Sites · ipvet"/>
        <h1>"Sites"</h1>
        <p class="muted">
            "A check only means something when it is made from inside the network: nothing answering from afar proves nothing. "
            "Networks of " <code>"local"</code> " are checked by this server; those of every other site by the agents running there."
        </p>
        {outcome(add_site.value(), "Site added.")}
        {outcome(delete_site.value(), "Site deleted.")}
        {outcome(move_network.value(), "Network moved.")}
        {outcome(revoke.value(), "Agent revoked; its token is refused from now on.")}
        {move || add_agent.value().with(|v| match v {
            Some(Err(e)) => Some(view! { <p class="error" role="alert">{e.to_string()}</p> }),
            _ => None,
        })}
        {secret}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match sites.await {
                    Ok(list) => {
                        let all_networks: Vec<(i64, String, String)> = list
                            .iter()
                            .flat_map(|s| s.networks.iter().map(move |(id, cidr)| (*id, cidr.clone(), s.name.clone())))
                            .collect();
                        list.into_iter()
                            .map(|site| view! {
                                <SiteCard
                                    site=site
                                    admin=admin
                                    scripted=scripted
                                    all_networks=all_networks.clone()
                                    delete_site=delete_site
                                    move_network=move_network
                                    add_agent=add_agent
                                    revoke=revoke
                                />
                            })
                            .collect_view()
                            .into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
        {admin.then(|| view! {
            <section class="card">
                <h2>"Add a site"</h2>
                <ActionForm action=add_site attr:class="add-site">
                    <label>"Name" <input type="text" name="name" required maxlength="63" pattern="[a-z0-9]([a-z0-9\\-]*[a-z0-9])?" autocomplete="off" placeholder="dc-2"/></label>
                    <label>"Description" <input type="text" name="description" maxlength="2000" autocomplete="off" placeholder="Frankfurt, racks 10–14"/></label>
                    <button type="submit">"Add site"</button>
                </ActionForm>
            </section>
        })}
    }
}

#[component]
#[allow(clippy::too_many_arguments)]
fn SiteCard(
    site: SiteView,
    admin: bool,
    scripted: RwSignal<bool>,
    all_networks: Vec<(i64, String, String)>,
    delete_site: ServerAction<DeleteSite>,
    move_network: ServerAction<MoveNetwork>,
    add_agent: ServerAction<AddAgent>,
    revoke: ServerAction<RevokeAgent>,
) -> impl IntoView {
    let local = site.id.is_none();
    let live = site.agents.iter().filter(|a| a.live).count();
    let state = match (&site.no_live_agent_since, local) {
        (_, true) => view! { <p class="muted">"Checked by the ipvet instances themselves."</p> }.into_any(),
        (Some(since), false) => view! {
            <p class="notice site-down" role="status">
                "No live agent since " <When at=since.clone()/>
                ": this site's addresses are not checked and none is freed; each cycle records them as inconclusive."
            </p>
        }
        .into_any(),
        (None, false) => view! {
            <p class="ok">{if live == 1 { "1 live agent.".to_string() } else { format!("{live} live agents.") }}</p>
        }
        .into_any(),
    };
    let here = site.name.clone();
    let movable: Vec<(i64, String, String)> = all_networks
        .into_iter()
        .filter(|(_, _, at)| *at != here)
        .collect();
    let site_name = site.name.clone();
    let agents = site.agents.clone();
    view! {
        <section class="card site" data-site=site.name.clone()>
            <h2>{site.name.clone()}</h2>
            {(!site.description.is_empty()).then(|| view! { <p>{site.description.clone()}</p> })}
            {state}
            <h3>"Networks"</h3>
            {if site.networks.is_empty() {
                view! { <p class="muted">"None."</p> }.into_any()
            } else {
                view! {
                    <ul class="site-networks">
                        {site.networks.iter().map(|(id, cidr)| view! {
                            <li><a href=format!("/networks/{id}")>{cidr.clone()}</a></li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            {(admin && !movable.is_empty()).then(|| view! {
                <ActionForm action=move_network attr:class="move-network">
                    <input type="hidden" name="site" value=site_name.clone()/>
                    <label>
                        "Move here"
                        <select name="network_id">
                            {movable.iter().map(|(id, cidr, at)| view! {
                                <option value=id.to_string()>{format!("{cidr} (now {at})")}</option>
                            }).collect_view()}
                        </select>
                    </label>
                    <button type="submit">"Move network"</button>
                </ActionForm>
            })}
            {(!local).then(|| view! {
                <h3>"Agents"</h3>
                {if agents.is_empty() {
                    view! { <p class="muted">"No agent yet."</p> }.into_any()
                } else {
                    view! {
                        <table class="agents">
                                <thead>
                                    <tr>
                                        <th>"Agent"</th>
                                        <th>"State"</th>
                                        <th>"Last seen"</th>
                                        <th>"From"</th>
                                        <th>"Version"</th>
                                        <th>"Can probe with"</th>
                                        {admin.then(|| view! { <th></th> })}
                                    </tr>
                                </thead>
                                <tbody>
                                    {agents.into_iter().map(|a| agent_row(a, admin, revoke)).collect_view()}
                                </tbody>
                        </table>
                    }.into_any()
                }}
            })}
            {(admin && !local).then(|| {
                let id = site.id.unwrap_or_default();
                let name = site.name.clone();
                view! {
                    <p class="notice needs-script" hidden=move || scripted.get()>
                        "Adding an agent needs JavaScript: its token is shown once, on this page. On the server, "
                        <code>{format!("ipvet token create --agent {name}")}</code> " makes one too."
                    </p>
                    <ActionForm action=add_agent attr:hidden=move || !scripted.get() attr:class="add-agent">
                        <input type="hidden" name="site_id" value=id.to_string()/>
                        <label>"Agent name" <input type="text" name="name" required maxlength="100" autocomplete="off" placeholder="probe-1"/></label>
                        <button type="submit">"Add agent"</button>
                    </ActionForm>
                    <Confirm
                        label="Delete site"
                        question=format!("Delete the site “{name}”? Only a site without networks and live agent tokens can go.")
                    >
                        <ActionForm action=delete_site>
                            <input type="hidden" name="site_id" value=id.to_string()/>
                            <button type="submit">{format!("Delete site {name}")}</button>
                        </ActionForm>
                    </Confirm>
                }
            })}
        </section>
    }
}

fn agent_row(a: AgentView, admin: bool, revoke: ServerAction<RevokeAgent>) -> impl IntoView {
    let state = match (&a.revoked_at, a.live) {
        (Some(_), _) => "revoked",
        (None, true) => "live",
        (None, false) => "not connected",
    };
    let can = match (&a.methods, a.raw_sockets, a.script) {
        (None, _, _) => "not known yet".to_string(),
        (Some(methods), raw, script) => {
            let mut parts = Vec::new();
            if script == Some(true) {
                parts.push("checker script".into());
            }
            if !methods.is_empty() {
                parts.push(methods.clone());
            }
            if raw == Some(false) {
                parts.push("no raw sockets".into());
            }
            if parts.is_empty() {
                "nothing".into()
            } else {
                parts.join(", ")
            }
        }
    };
    let id = a.id;
    let live_token = a.revoked_at.is_none();
    let name = a.name.clone();
    view! {
        <tr data-agent=a.name.clone() data-state=state>
            <td class="agent-name">{a.name.clone()}</td>
            <td>{state}</td>
            <td class="when">{match &a.last_seen_at {
                Some(at) => view! { <When at=at.clone()/> }.into_any(),
                None => "never".into_any(),
            }}</td>
            <td>{a.address.clone().unwrap_or_default()}</td>
            <td>{a.version.clone().unwrap_or_default()}</td>
            <td>{can}</td>
            {admin.then(|| view! {
                <td>
                    {live_token.then(|| view! {
                        <Confirm
                            label="Revoke"
                            question=format!("Revoke the agent “{name}”? Its token is refused at once; what it holds is handed to others.")
                        >
                            <ActionForm action=revoke>
                                <input type="hidden" name="agent_id" value=id.to_string()/>
                                <button type="submit">{format!("Revoke {name}")}</button>
                            </ActionForm>
                        </Confirm>
                    })}
                </td>
            })}
        </tr>
    }
}
