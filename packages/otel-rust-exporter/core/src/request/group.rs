//! Groups a batch by resource, then by scope, in first-seen order (as the stock exporters
//! do), for every signal.

use std::sync::Arc;

use crate::records::ScopeGroup;

/// The records of one resource, by scope.
pub struct ResourceBatch<T> {
    /// The first group seen for this resource: its resource is the batch's.
    pub group: Arc<ScopeGroup>,
    pub scopes: Vec<(Arc<ScopeGroup>, Vec<T>)>,
}

pub fn by_resource_and_scope<T>(
    batch: impl IntoIterator<Item = (Arc<ScopeGroup>, T)>,
) -> Vec<ResourceBatch<T>> {
    let mut grouped: Vec<ResourceBatch<T>> = Vec::new();
    for (group, record) in batch {
        match locate(&grouped, &group) {
            (Some(resource), Some(scope)) => grouped[resource].scopes[scope].1.push(record),
            (Some(resource), None) => grouped[resource].scopes.push((group, vec![record])),
            (None, _) => grouped.push(ResourceBatch {
                group: group.clone(),
                scopes: vec![(group, vec![record])],
            }),
        }
    }
    grouped
}

/// Where `group` goes: by pointer first (the common case), then by content, since the
/// scope cache makes a new `Arc` for a scope it had evicted.
fn locate<T>(
    grouped: &[ResourceBatch<T>],
    group: &Arc<ScopeGroup>,
) -> (Option<usize>, Option<usize>) {
    for (resource_index, resource) in grouped.iter().enumerate() {
        if let Some(scope_index) = resource
            .scopes
            .iter()
            .position(|(known, _)| Arc::ptr_eq(known, group))
        {
            return (Some(resource_index), Some(scope_index));
        }
    }
    match grouped
        .iter()
        .position(|resource| resource.group.same_resource(group))
    {
        Some(resource_index) => {
            let scope_index = grouped[resource_index]
                .scopes
                .iter()
                .position(|(known, _)| known.same_scope(group));
            (Some(resource_index), scope_index)
        }
        None => (None, None),
    }
}
