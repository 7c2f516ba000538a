package bench

// All lists every scenario in the order `tiercache bench all` runs them.
// Each scenario lives in its own file; add it here.
func All() []Scenario {
	return []Scenario{
		respScenario(),
		stampedeScenario(),
		hotkeyScenario(),
		clientgetScenario(),
		rebalanceScenario(),
		failoverScenario(),
		degradedScenario(),
		lagScenario(),
		partitionScenario(),
		rywScenario(),
		stampedeGlobalScenario(),
		federationScenario(),
	}
}
