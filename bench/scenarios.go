package bench

// All lists every scenario in the order `tiercache bench all` runs them.
// Each scenario lives in its own file; add it here.
func All() []Scenario {
	return []Scenario{
		// One region on loopback: the RESP peer first, then the client.
		respScenario(),
		clientgetScenario(),
		// The stampede defences, one region then three.
		stampedeScenario(),
		stampedeGlobalScenario(),
		hotkeyScenario(),
		// Membership and topology changes, then a node lost outright.
		failoverScenario(),
		rebalanceScenario(),
		degradedScenario(),
		// The federation over the simulated WAN.
		lagScenario(),
		partitionScenario(),
		federationScenario(),
		rywScenario(),
	}
}
