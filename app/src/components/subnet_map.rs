//! A network's subnet map, drawn on the server as a grid of links: hovering a cell names
//! the address or block and its state, a click opens the address or the block's own map.
//! Colours come from classes (the CSP allows no inline style), and a legend says what
//! each means, so the map reads the same without JavaScript.

use leptos::either::Either;
use leptos::prelude::*;

use crate::model::{AddressStatus, SubnetMap};

#[component]
pub fn SubnetMapView(map: SubnetMap) -> impl IntoView {
    let addresses = map.of_addresses();
    // A few cells (a /22 is four /24s) fill a row of their own, each named in full.
    let columns = map.len().clamp(1, 16);
    let few = columns <= 4;
    // A cell carries its words once, as its name (aria-label): the style sheet shows the
    // hovered or focused cell's name under the grid. A map is 256 cells on every network
    // page, so each cell is kept to its class, link and name.
    let cells = map
        .cells()
        .into_iter()
        .map(|c| {
            let (href, class) = if addresses {
                match c.status {
                    Some(s) => (
                        Some(format!("/address?ip={}", c.label)),
                        s.as_str().to_string(),
                    ),
                    None => (None, "unusable".to_string()),
                }
            } else {
                // Ten shades of use, a tenth each; any use at all shows as the first.
                let shade = c.fill.div_ceil(10).min(10);
                let marked = if c.problems > 0 { " p" } else { "" };
                let class = format!("f{shade}{marked}");
                (Some(format!("?block={}#map", c.label)), class)
            };
            let shown = if few { c.label } else { c.short };
            match href {
                Some(href) => {
                    Either::Left(view! { <a class=class href=href aria-label=c.title>{shown}</a> })
                }
                None => Either::Right(view! { <span class=class title=c.title>{shown}</span> }),
            }
        })
        .collect_view();
    let legend = if addresses {
        AddressStatus::ALL
            .into_iter()
            .map(|s| {
                view! { <li><span class=format!("swatch {}", s.as_str())></span>{s.label()}</li> }
                    .into_any()
            })
            .chain(std::iter::once(
                view! { <li><span class="swatch unusable"></span>"Never handed out"</li> }
                    .into_any(),
            ))
            .collect_view()
            .into_any()
    } else {
        view! {
            <li><span class="swatch f0"></span>"Empty"</li>
            <li><span class="swatch f5"></span>"Half in use"</li>
            <li><span class="swatch f10"></span>"Full"</li>
            <li><span class="swatch f0 p"></span>"Holds problems"</li>
        }
        .into_any()
    };
    view! {
        <section class="card subnet-map" id="map" aria-labelledby="map-heading">
            <h2 id="map-heading">"Subnet map of " {map.block.clone()}</h2>
            {map.up.map(|up| view! { <p><a class="map-up" href=format!("?block={up}#map")>"Up to " {up.clone()}</a></p> })}
            {map.skipped.map(|s| view! { <p class="muted">{s}</p> })}
            <div class=format!(
                "map-grid {} cols-{columns}",
                if addresses { "addresses" } else { "blocks" },
            )>{cells}</div>
            <ul class="map-legend" aria-label="Legend">{legend}</ul>
            {(!addresses).then(|| view! { <p class="muted hint">"Each cell is a block; open one to see its addresses."</p> })}
        </section>
    }
}
