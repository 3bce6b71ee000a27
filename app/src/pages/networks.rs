//! Networks: each with its utilisation and counts by status; admins add and delete them.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::auth::refused_draft;
use crate::api::networks::{list_networks, CreateNetwork, DeleteNetwork};
use crate::components::confirm::Confirm;
use crate::components::outcome::outcome;
use crate::components::role::current_role;
use crate::components::status_badge::StatusBadge;
use crate::model::{FormDraft, NetworkView, Role};

#[component]
pub fn NetworksPage() -> impl IntoView {
    let admin = current_role() == Role::Admin;
    let create = ServerAction::<CreateNetwork>::new();
    let delete = ServerAction::<DeleteNetwork>::new();
    let draft = Resource::new(|| (), |_| refused_draft());
    let nets = Resource::new(
        move || (create.version().get(), delete.version().get()),
        |_| list_networks(),
    );
    let row = move |n: NetworkView| {
        let id = n.id;
        let delete_button = format!("Delete network {}", n.cidr);
        view! {
            <tr data-network=n.cidr.clone()>
                <td><a href=format!("/networks/{id}")>{n.cidr.clone()}</a></td>
                <td>{n.name.clone()}</td>
                <td>
                    // A meter, not a bar sized by an inline style, which the page's
                    // Content-Security-Policy refuses.
                    <meter class="bar" min="0" max="100" value=n.used_percent
                        title=format!("{:.1} % in use", n.used_percent)></meter>
                </td>
                <td class="num">{human_count(&n.free)} " / " {human_count(&n.allocatable)}</td>
                <td>
                    <div class="counts">
                    {n
                        .in_use
                        .iter()
                        .filter(|(_, c)| *c > 0)
                        .map(|(s, c)| view! { <span class="count"><StatusBadge status=*s/> " " {*c}</span> })
                        .collect_view()}
                    </div>
                </td>
                <td>
                    {admin
                        .then(|| {
                            view! {
                                <Confirm
                                    label="Delete"
                                    question=format!(
                                        "Delete the network {}? Only a network whose addresses are all free can be deleted.",
                                        n.cidr,
                                    )
                                >
                                    <ActionForm action=delete>
                                        <input type="hidden" name="network_id" value=id.to_string()/>
                                        <button type="submit">{delete_button.clone()}</button>
                                    </ActionForm>
                                </Confirm>
                            }
                        })}
                </td>
            </tr>
        }
    };
    view! {
        <Title text="Networks · ipvet"/>
        <h1>"Networks"</h1>
        {outcome(create.value(), "Network created.")}
        {outcome(delete.value(), "Network deleted.")}
        {admin
            .then(|| {
                view! {
                    <section class="card">
                        <h2>"Add a network"</h2>
                        // Without JavaScript a refused form comes back with what was typed.
                        <Transition fallback=|| ()>
                            {move || Suspend::new(async move {
                                let kept = draft.await.ok().flatten();
                                let typed = |field: &str| {
                                    FormDraft::value(&kept, <CreateNetwork as leptos::server_fn::ServerFn>::PATH, field)
                                        .unwrap_or_default()
                                };
                                let (cidr, name, description) =
                                    (typed("cidr"), typed("name"), typed("description"));
                                view! {
                                    <ActionForm action=create>
                                        <label>"CIDR" <input type="text" name="cidr" required placeholder="198.51.100.0/24" value=cidr/></label>
                                        <label>"Name" <input type="text" name="name" required value=name/></label>
                                        <label>"Description" <input type="text" name="description" value=description/></label>
                                        <button type="submit">"Create network"</button>
                                    </ActionForm>
                                }
                            })}
                        </Transition>
                    </section>
                }
            })}
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match nets.await {
                    Ok(list) if list.is_empty() => view! { <p class="muted">"No networks yet."</p> }.into_any(),
                    Ok(list) => {
                        view! {
                            <table class="networks">
                                <thead>
                                    <tr>
                                        <th>"Network"</th>
                                        <th>"Name"</th>
                                        <th>"In use"</th>
                                        <th class="num">"Free / allocatable"</th>
                                        <th>"By status"</th>
                                        <th></th>
                                    </tr>
                                </thead>
                                <tbody>{list.into_iter().map(row).collect_view()}</tbody>
                            </table>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="error" role="alert">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

/// Counts as people read them: exact with thousands separators up to a billion; beyond
/// that as a power of two when exact or just under one (an IPv6 /64 holds 2^64 addresses,
/// and a few used leave "2^64 − 6"), else rounded to three digits ("≈ 1.84 × 10^19").
/// Where a page of a list stands: "101–200 of 65,534" for the rows from `first` (counted
/// from 1) of `total`, "0 of 0" for an empty page.
pub fn list_position(first: u64, shown: usize, total: u64) -> String {
    let total_text = human_count(&total.to_string());
    if shown == 0 {
        return format!("0 of {total_text}");
    }
    let last = first + shown as u64 - 1;
    format!(
        "{}–{} of {total_text}",
        human_count(&first.to_string()),
        human_count(&last.to_string())
    )
}

pub fn human_count(n: &str) -> String {
    let Ok(v) = n.parse::<u128>() else {
        return n.to_string();
    };
    if v < 1_000_000_000 {
        return grouped(v);
    }
    if v.is_power_of_two() {
        return format!("2^{}", v.trailing_zeros());
    }
    // The power of two just above `v`, when there is one.
    let bits = 128 - v.leading_zeros();
    if bits < 128 {
        let above = 1u128 << bits;
        if above - v < 1_000_000 {
            return format!("2^{bits} − {}", grouped(above - v));
        }
    }
    let text = format!("{:.2e}", v as f64);
    match text.split_once('e') {
        Some((mantissa, exponent)) => format!("≈ {mantissa} × 10^{exponent}"),
        None => text,
    }
}

/// 65534 as "65,534".
pub fn grouped(v: u128) -> String {
    let digits = v.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::{human_count, list_position};

    #[test]
    fn list_positions_read_well() {
        assert_eq!(list_position(1, 100, 65_534), "1–100 of 65,534");
        assert_eq!(list_position(65_501, 34, 65_534), "65,501–65,534 of 65,534");
        assert_eq!(list_position(0, 0, 0), "0 of 0");
    }

    #[test]
    fn counts_read_well() {
        assert_eq!(human_count("254"), "254");
        assert_eq!(human_count("65534"), "65,534");
        assert_eq!(human_count("999999999"), "999,999,999");
        assert_eq!(human_count("18446744073709551616"), "2^64");
        assert_eq!(human_count("18446744073709551610"), "2^64 − 6");
        assert_eq!(human_count("10000000000000000000"), "≈ 1.00 × 10^19");
        assert_eq!(
            human_count("340282366920938463463374607431768211455"),
            "≈ 3.40 × 10^38"
        );
        assert_eq!(human_count("not a number"), "not a number");
    }

    proptest::proptest! {
        /// Whatever the count, it reads without a panic and keeps its magnitude.
        #[test]
        fn any_count_reads(v: u128) {
            let text = human_count(&v.to_string());
            proptest::prop_assert!(!text.is_empty());
            if v < 1_000_000_000 {
                proptest::prop_assert_eq!(text.replace(',', ""), v.to_string());
            }
        }
    }
}
