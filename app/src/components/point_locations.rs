//! Where a backup point is stored: the task's own repository and the copy
//! jobs' destinations holding it, as badges.

use leptos::prelude::*;

use crate::api::restores::PointLocation;

#[component]
pub fn LocationBadges(locations: Vec<PointLocation>) -> impl IntoView {
    if locations.is_empty() {
        return view! {
            <span class="muted" data-testid="point-location-none" title="no repository holds this point any more (pruned or deleted)">"not stored"</span>
        }
        .into_any();
    }
    locations
        .into_iter()
        .map(|l| {
            let (class, title) = if l.copy {
                ("badge badge--copy", "a copy job copied this point here")
            } else {
                ("badge", "the task's own repository")
            };
            let text = if l.copy {
                format!("copy: {}", l.repository_name)
            } else {
                l.repository_name
            };
            view! {
                <span class=class data-testid="point-location" data-copy=l.copy.to_string() title=title>{text}</span>
                " "
            }
        })
        .collect_view()
        .into_any()
}
