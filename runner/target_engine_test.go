package runner

import (
	"strings"
	"testing"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/target"
)

// Container faults run on a node's own engine (docker_host); a link fault
// needs both ends on one engine, with the network-tools image there.
func TestRefusalsOfContainerFaultsOnOtherEngines(t *testing.T) {
	for _, tc := range []struct {
		name       string
		eastHost   string // west is on the local engine
		netTools   string // NetToolsState on every engine
		network    string
		body       string
		want       string // "" = accepted
		wantAtLine string
	}{
		{"stop on a tcp engine", "tcp://10.0.0.9:2375", target.NetToolsPresent, "", "  - {at: 1s, kind: stop, node: east, for: 2s}\n", "", ""},
		{"pause on an ssh engine", "ssh://ops@west:2222", target.NetToolsPresent, "", "  - {at: 1s, kind: pause, node: east, for: 2s}\n", "", ""},
		{"partition across engines", "tcp://10.0.0.9:2375", target.NetToolsPresent, "", "  - {at: 1s, kind: partition, between: [east, west], for: 2s}\n",
			"east and west run on different Docker engines (tcp://10.0.0.9:2375, the local engine)", "s.yaml:4:5: "},
		{"loss on one remote engine", "", target.NetToolsPresent, "net", "  - {at: 1s, kind: loss, between: [east, west], loss: 10%, for: 2s}\n", "", ""},
		{"partition without the nettools image", "", target.NetToolsMissing, "net", "  - {at: 1s, kind: partition, between: [east, west], for: 2s}\n",
			"cannot be done on east: the network-tools image pgchaos-local/nettools:2 is not on the local Docker engine", "s.yaml:4:5: "},
		{"the local engine by name is the local engine", "unix:///var/run/docker.sock", target.NetToolsPresent, "net", "  - {at: 1s, kind: partition, between: [east, west], for: 2s}\n", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("DOCKER_HOST", "")
			east := "{name: east, dsn: \"host=10.0.0.1 user=app dbname=app\", container: pg-east"
			if tc.eastHost != "" {
				east += ", docker_host: \"" + tc.eastHost + "\""
			}
			tg, err := target.Parse("cluster.yaml", []byte("nodes:\n  - "+east+"}\n  - {name: west, dsn: \"host=10.0.0.2 user=app dbname=app\", container: pg-west}\n"))
			if err != nil {
				t.Fatal(err)
			}
			facts := target.Facts{}
			for _, n := range tg.Nodes {
				peer := "west"
				if n.Name == "west" {
					peer = "east"
				}
				facts.Nodes = append(facts.Nodes, target.NodeFacts{Name: n.Name, Reached: true, Superuser: true, Engines: []string{target.EngineNative},
					Subscriptions: []target.Subscription{{Engine: target.EngineNative, Name: "from_" + peer, Enabled: true, Owned: true}},
					Slots:         []string{"from_" + n.Name},
					Container: target.ContainerFacts{Name: n.Container, DockerHost: n.DockerHost, State: target.ContainerRunning,
						NetTools: "pgchaos-local/nettools:2", NetToolsState: tc.netTools}})
			}
			pre := target.Report{Facts: facts, Capabilities: target.Capabilities(facts), Topology: []target.Edge{
				{Subscriber: "east", Publisher: "west", Engine: target.EngineNative, Subscription: "from_west", Enabled: true},
				{Subscriber: "west", Publisher: "east", Engine: target.EngineNative, Subscription: "from_east", Enabled: true},
			}}
			sc, err := scenario.ParseFor("s.yaml", []byte("duration: 20s\nworkloads: [{kind: sql, script: ../scenarios/orders.sql}]\nfaults:\n"+tc.body),
				scenario.Nodes{Primaries: []string{"east", "west"}})
			if err != nil {
				t.Fatal(err)
			}
			err = Refusals(sc, tg, pre, tc.network)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || exitcode.Of(err) != exitcode.BadInput {
				t.Fatalf("err = %v (exit %d), want exit 2", err, exitcode.Of(err))
			}
			if !strings.Contains(err.Error(), tc.wantAtLine+"faults[0]") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%s\nwant at %q: %q", err, tc.wantAtLine, tc.want)
			}
		})
	}
}
