//! A network's subnet map, drawn on the server as a grid of links: hovering a cell names
//! the address or block and its state, a click opens the address or the block's own map.
//! Colours come from classes (the CSP allows no inline style), and a legend says what
//! each means, so the map reads the same without JavaScript.

use std::fmt::Write;

use leptos::prelude::*;

use serde::{Deserialize, Serialize};

use crate::components::html_text::{DrawnHtml, Escaped};
use crate::model::{AddressStatus, SubnetMap};

/// A map as its page keeps it: what frames the grid, and the cells drawn as text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapShown {
    block: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    up: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    skipped: Option<String>,
    addresses: bool,
    columns: usize,
    cells: DrawnHtml,
}

impl From<SubnetMap> for MapShown {
    fn from(map: SubnetMap) -> Self {
        let addresses = map.of_addresses();
        // A few cells (a /22 is four /24s) fill a row of their own, each named in full.
        let columns = map.len().clamp(1, 16);
        let cells = DrawnHtml::new(cells_html(&map, addresses, columns <= 4));
        Self {
            block: map.block,
            up: map.up,
            skipped: map.skipped,
            addresses,
            columns,
            cells,
        }
    }
}

#[component]
pub fn SubnetMapView(map: MapShown) -> impl IntoView {
    let MapShown {
        block,
        up,
        skipped,
        addresses,
        columns,
        cells,
    } = map;
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
            <h2 id="map-heading">"Subnet map of " {block}</h2>
            {up.map(|up| view! { <p><a class="map-up" href=format!("?block={up}#map")>"Up to " {up.clone()}</a></p> })}
            {skipped.map(|s| view! { <p class="muted">{s}</p> })}
            <div
                class=format!(
                    "map-grid {} cols-{columns}",
                    if addresses { "addresses" } else { "blocks" },
                )
                inner_html=cells.into_markup()
            ></div>
            <ul class="map-legend" aria-label="Legend">{legend}</ul>
            {(!addresses).then(|| view! { <p class="muted hint">"Each cell is a block; open one to see its addresses."</p> })}
        </section>
    }
}

/// The map's cells as HTML. A cell carries its words once, as its name (aria-label): the
/// style sheet shows the hovered or focused cell's name under the grid. Written out as
/// text rather than as 256 views: a network's page draws a map on every request, and the
/// cells were most of the cost of drawing it. Everything written from data is escaped.
fn cells_html(map: &SubnetMap, addresses: bool, few: bool) -> String {
    let mut out = String::with_capacity(map.len() * 96);
    for c in map.cells() {
        let shown = Escaped(if few { &c.label } else { &c.short });
        let (title, label) = (Escaped(&c.title), Escaped(&c.label));
        // Written straight into the markup, without a string of its own for each cell's
        // class and link: a map is drawn on every view of a network's page.
        let _ = if addresses {
            match c.status {
                Some(s) => write!(
                    out,
                    r#"<a class="{}" href="/address?ip={label}" aria-label="{title}">{shown}</a>"#,
                    s.as_str(),
                ),
                None => write!(
                    out,
                    r#"<span class="unusable" title="{title}">{shown}</span>"#
                ),
            }
        } else {
            // Ten shades of use, a tenth each; any use at all shows as the first.
            let shade = c.fill.div_ceil(10).min(10);
            let marked = if c.problems > 0 { " p" } else { "" };
            write!(
                out,
                r#"<a class="f{shade}{marked}" href="?block={label}#map" aria-label="{title}">{shown}</a>"#,
            )
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MapCells;

    #[test]
    fn an_owner_is_written_as_text_never_as_markup() {
        let map = SubnetMap {
            block: "198.18.0.0/30".into(),
            up: None,
            skipped: None,
            cells: MapCells::Addresses {
                statuses: "-a--".into(),
                owners: vec![(1, r#""><script>alert(1)</script>&'"#.into())],
            },
        };
        let html = cells_html(&map, true, false);
        assert!(html.contains(
            r#"aria-label="198.18.0.1 · Allocated · &quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&amp;&#39;""#
        ), "{html}");
        assert!(!html.contains("<script"), "{html}");
        assert_eq!(html.matches("<a ").count(), 1);
        assert_eq!(html.matches("<span ").count(), 3);
    }

    proptest::proptest! {
        /// Whatever an owner holds, the cells' markup is the cells' tags and nothing else.
        #[test]
        fn any_owner_leaves_the_markup_alone(owner in "\\PC{0,40}") {
            let map = SubnetMap {
                block: "198.18.0.0/31".into(),
                up: None,
                skipped: None,
                cells: MapCells::Addresses { statuses: "aa".into(), owners: vec![(0, owner)] },
            };
            let html = cells_html(&map, true, false);
            proptest::prop_assert_eq!(html.matches('<').count(), 4);
            proptest::prop_assert_eq!(html.matches('>').count(), 4);
            proptest::prop_assert_eq!(html.matches('"').count(), 12);
        }
    }
}
