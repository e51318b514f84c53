// Package userns owns sbx's process model on the host side: one set of namespaces per user,
// shared by every sbx invocation of that user and gone once the last one has exited.
//
// Why: containers that share a bridge must live under one user namespace (only the user
// namespace that owns a network namespace can move veths into it), and the layer store's
// overlay mounts must be visible to every sbx command that uses them. So instead of each
// command making its own namespaces, the first one starts a holder: sbx re-executed into a
// new user namespace (mapped with newuidmap/newgidmap over the user's /etc/subuid and
// /etc/subgid ranges) and a new mount namespace, holding a tmpfs for the store's run state.
// Every command then joins the holder's namespaces (see package nsenter for why that has to
// happen in a C constructor). As root there is no user namespace, only the mount namespace.
//
// Lifetime without a daemon: each joined process holds a shared flock on RUNTIME/holder.refs;
// the holder blocks on an exclusive flock of the same file and exits as soon as it gets it,
// that is when the last user has gone. A newcomer takes its shared lock before it looks for
// the holder, so it either sees a holder that cannot leave until it is done, or waits until
// the departing holder is gone and starts a new one. When the holder exits, its namespaces
// and every mount in them (overlay roots, the tmpfs with the store's mount counts) vanish
// together, so nothing needs unmounting after a crash.
package userns
