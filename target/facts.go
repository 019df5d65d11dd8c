package target

// Replication engines preflight recognises.
const (
	EngineNative    = "native"    // pg_publication / pg_subscription
	EnginePglogical = "pglogical" // the pglogical extension
	EngineSpock     = "spock"     // pgEdge Spock: detected, not measured
	EnginePgactive  = "pgactive"  // AWS pgactive: detected, not measured
)

// Facts is what preflight found, and the only input of the capability
// logic (Capabilities, Measures): those are pure functions of it, so every
// decision they make can be tested without a server.
type Facts struct {
	Nodes   []NodeFacts  `json:"nodes"`
	HAProxy HAProxyFacts `json:"haproxy"`
}

// HAProxyFacts is what preflight learnt of the load balancer.
type HAProxyFacts struct {
	Address      string `json:"address,omitempty"`
	Admin        string `json:"admin,omitempty"`
	AddressOK    bool   `json:"address_ok"`
	AdminOK      bool   `json:"admin_ok"`
	AddressError string `json:"address_error,omitempty"`
	AdminError   string `json:"admin_error,omitempty"`
	// Servers is which server of which backend is which node (from the
	// target file, or detected from `show servers state`); failover needs
	// one for its node.
	Servers ServerMap `json:"servers"`
}

// NodeFacts is what preflight found on one node. Every string is safe to
// show: connection strings are redacted, errors scrubbed.
type NodeFacts struct {
	Name     string `json:"name"`
	Endpoint string `json:"endpoint"` // user@host:port/db, no password
	Reached  bool   `json:"reached"`
	Error    string `json:"error,omitempty"` // why it was not reached

	Version              string `json:"version,omitempty"` // server_version
	VersionNum           int    `json:"version_num,omitempty"`
	User                 string `json:"user,omitempty"`
	ClusterName          string `json:"cluster_name,omitempty"`
	WalLevel             string `json:"wal_level,omitempty"`
	TrackCommitTimestamp bool   `json:"track_commit_timestamp"`

	Superuser       bool `json:"superuser"`
	CanCreateSchema bool `json:"can_create_schema"` // CREATE on the database
	SignalBackend   bool `json:"signal_backend"`    // member of pg_signal_backend
	ReadAllStats    bool `json:"read_all_stats"`    // member of pg_read_all_stats

	Engines       []string       `json:"engines"` // detected, in EngineNative, EnginePglogical, … order
	Extensions    []string       `json:"extensions,omitempty"`
	Publications  []Publication  `json:"publications,omitempty"`
	Subscriptions []Subscription `json:"subscriptions,omitempty"`
	Slots         []string       `json:"slots,omitempty"` // logical replication slots on this node
	// ReplicationSets are pglogical's replication sets on this node (its
	// publications: a subscriber reads the sets its subscription names),
	// with whether pgchaos.pgchaos_heartbeat is in each.
	ReplicationSets []Publication `json:"replication_sets,omitempty"`
	// ConninfoHidden: the user may not read pg_subscription.subconninfo,
	// so subscriptions are matched to nodes by slot name only.
	ConninfoHidden bool     `json:"conninfo_hidden,omitempty"`
	Problems       []string `json:"problems,omitempty"` // queries that failed, and why

	PgchaosSchema  bool `json:"pgchaos_schema"`  // schema pgchaos exists
	HeartbeatTable bool `json:"heartbeat_table"` // pgchaos.pgchaos_heartbeat exists
	// PgchaosTables are the tables in schema pgchaos, each with whether
	// it carries the marker comment setup writes (pgchaos made it).
	PgchaosTables []OwnTable `json:"pgchaos_tables,omitempty"`

	Container ContainerFacts `json:"container"`
}

// Publication is one publication on a node.
type Publication struct {
	Name      string `json:"name"`
	AllTables bool   `json:"all_tables"`
	Heartbeat bool   `json:"heartbeat"` // pgchaos.pgchaos_heartbeat is in it
	// Tables are the tables of schema pgchaos it carries (names without
	// the schema), heartbeat included.
	Tables []string `json:"pgchaos_tables,omitempty"`
}

// OwnTable is a table in schema pgchaos.
type OwnTable struct {
	Name   string `json:"name"`   // without the schema
	Marked bool   `json:"marked"` // its comment says pgchaos target setup made it
}

// Subscription is one subscription on a node (native or pglogical).
type Subscription struct {
	Engine       string   `json:"engine"`
	Name         string   `json:"name"`
	Enabled      bool     `json:"enabled"`
	Owned        bool     `json:"owned"`              // owned by the preflight's user
	Conninfo     string   `json:"conninfo,omitempty"` // redacted
	Addresses    []string `json:"addresses,omitempty"`
	Slot         string   `json:"slot,omitempty"`
	Publications []string `json:"publications,omitempty"`
	Origin       string   `json:"origin,omitempty"` // native 16+: none or any
}

// Container states.
const (
	ContainerNone     = "none"      // no container named
	ContainerRunning  = "running"   // found and running
	ContainerStopped  = "stopped"   // found, not running
	ContainerNotFound = "not found" // the engine answered, it has no such container
	ContainerUnknown  = "unknown"   // the engine was not reached or not asked
)

// ContainerFacts is what preflight learnt of a node's container.
type ContainerFacts struct {
	Name       string `json:"name,omitempty"`
	DockerHost string `json:"docker_host,omitempty"` // "" = local
	State      string `json:"state"`
	Reason     string `json:"reason,omitempty"`
	// Networks are the Docker networks the container is on, with its IP
	// address on each ("" when it has none there).
	Networks map[string]string `json:"networks,omitempty"`
	// NetTools is the network-tools image link faults run their helper
	// from, and NetToolsState whether that engine has it: "present",
	// "missing", or "" when not asked.
	NetTools      string `json:"nettools,omitempty"`
	NetToolsState string `json:"nettools_state,omitempty"`
}

// The values of ContainerFacts.NetToolsState.
const (
	NetToolsPresent = "present"
	NetToolsMissing = "missing"
)

// Edge is one replication direction: Subscriber applies what Publisher
// writes.
type Edge struct {
	Subscriber   string `json:"subscriber"`
	Publisher    string `json:"publisher,omitempty"` // "" when no node of the target matched
	Engine       string `json:"engine"`
	Subscription string `json:"subscription"`
	Enabled      bool   `json:"enabled"`
	MatchedBy    string `json:"matched_by"` // "address", "slot", or why nothing matched
}

// Topology returns who subscribes to whom. A subscription is matched to a
// publisher first by address (its conninfo's host:port against the nodes'
// DSNs or names), then by slot: the node that holds a logical slot named
// like the subscription's slot. Inside Docker networks the address a
// subscription uses is rarely the one the user connects to, so the slot is
// what usually decides.
func Topology(f Facts, addrs map[string][]string) []Edge {
	var edges []Edge
	for _, n := range f.Nodes {
		for _, s := range n.Subscriptions {
			e := Edge{Subscriber: n.Name, Engine: s.Engine, Subscription: s.Name, Enabled: s.Enabled}
			if p := matchAddress(n.Name, s.Addresses, f, addrs); p != "" {
				e.Publisher, e.MatchedBy = p, "address"
			} else if p, why := matchSlot(n.Name, s, f); p != "" {
				e.Publisher, e.MatchedBy = p, "slot"
			} else {
				e.MatchedBy = why
			}
			edges = append(edges, e)
		}
	}
	return edges
}

func matchAddress(self string, subAddrs []string, f Facts, addrs map[string][]string) string {
	for _, a := range subAddrs {
		host := a
		if i := lastColon(a); i >= 0 {
			host = a[:i]
		}
		for _, other := range f.Nodes {
			if other.Name == self {
				continue
			}
			if host == other.Name || (other.ClusterName != "" && host == other.ClusterName) {
				return other.Name
			}
			for _, na := range addrs[other.Name] {
				if na == a {
					return other.Name
				}
			}
		}
	}
	return ""
}

func lastColon(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == ':' {
			return i
		}
		if s[i] == ']' {
			return -1
		}
	}
	return -1
}

func matchSlot(self string, s Subscription, f Facts) (string, string) {
	if s.Slot == "" {
		return "", "no slot name to match"
	}
	var found []string
	for _, other := range f.Nodes {
		if other.Name == self || !other.Reached {
			continue
		}
		for _, sl := range other.Slots {
			if sl == s.Slot {
				found = append(found, other.Name)
			}
		}
	}
	switch len(found) {
	case 1:
		return found[0], ""
	case 0:
		return "", "no node of the target has slot " + s.Slot + " (a publisher outside the target?)"
	}
	return "", "several nodes have slot " + s.Slot
}
