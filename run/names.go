package run

import (
	"crypto/rand"
	"math/big"
)

// Words for generated container names, "adjective_noun" as docker users know them.
var (
	nameAdjectives = []string{
		"amber", "bold", "brisk", "calm", "clever", "cosmic", "crisp", "daring", "eager", "fancy",
		"gentle", "glad", "golden", "happy", "hidden", "humble", "jolly", "keen", "lively", "lucid",
		"mellow", "misty", "nimble", "noble", "patient", "quiet", "rapid", "sharp", "silent", "steady",
		"sunny", "swift", "tidy", "vivid", "witty", "zealous",
	}
	nameNouns = []string{
		"alder", "aspen", "badger", "beacon", "birch", "comet", "cedar", "crane", "delta", "ember",
		"falcon", "fjord", "glacier", "harbor", "heron", "island", "juniper", "kestrel", "lagoon", "maple",
		"meadow", "nebula", "otter", "pebble", "quartz", "raven", "river", "sparrow", "summit", "tundra",
		"valley", "willow", "wren", "yarrow", "zephyr",
	}
)

func pick(words []string) string {
	n, _ := rand.Int(rand.Reader, big.NewInt(int64(len(words))))
	return words[n.Int64()]
}

func randomName() string { return pick(nameAdjectives) + "_" + pick(nameNouns) }
