// Package gateway joins a region's L2 nodes, running as separate
// processes, to the global tier through one process per region: the
// region's gateway (`tiercache global`).
//
// The gateway hosts the region's L3 node and its federation endpoint,
// linked to every other region's gateway (for the L3 calls, whose owner
// may be anywhere, and for forwarded sticky reads). Each L2 node process
// has an endpoint of its own, with a certificate for its region, linked
// to every region's gateway:
//
//	L2 node ──Client calls──► own gateway (Server) ──l3.Client──► the key's L3 owner, here or remote
//	L2 node ──change stream──► every gateway: Server.Apply ──► its L3 node, and for another
//	                                                         region's write tc.gapply to the L2 owner
//
// Client is the L2 node's l2.GlobalTier and l2.StickyReader: misses,
// fills and lease releases are calls of the gateway kinds (KindGet ...)
// to its own region's gateway; writes travel on the node's change stream,
// so each is sequenced, acknowledged by every gateway only once applied
// there, and replayed after a gateway restarts: a gateway holds no write
// that its sender has forgotten. Server answers the gateway kinds only
// for peers whose certificate names its own region and delivers other
// regions' writes to the key's L2 owner over RESP (tc.gapply,
// authenticated with the cluster password).
package gateway
