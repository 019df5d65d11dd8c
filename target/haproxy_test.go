package target

import (
	"reflect"
	"strings"
	"testing"
)

// serversState is `show servers state` as HAProxy 3.2 (pgchaos-local/haproxy)
// answered it for a config with backend pg (primary1 by host name,
// primary2 by IP) and a backend other.
const serversState = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 pg 1 primary1 172.30.77.2 0 0 1 1 3 8 2 0 6 0 0 0 pgchaos-fo-cap-hap 5432 - 0 0 - - 0
3 pg 2 primary2 172.30.77.3 2 0 1 1 3 1 0 2 7 0 0 0 - 5432 - 0 0 - - 0
4 other 1 web1 10.9.9.9 2 0 1 1 3 1 0 2 0 0 0 0 - 80 - 0 0 - - 0

`

func TestParseServersStateReadsEveryServer(t *testing.T) {
	got, err := ParseServersState(serversState)
	if err != nil {
		t.Fatal(err)
	}
	want := []ProxyServer{
		{Backend: "pg", Name: "primary1", Addr: "172.30.77.2", Port: 5432, FQDN: "pgchaos-fo-cap-hap"},
		{Backend: "pg", Name: "primary2", Addr: "172.30.77.3", Port: 5432, FQDN: "-"},
		{Backend: "other", Name: "web1", Addr: "10.9.9.9", Port: 80, FQDN: "-"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	for _, bad := range []string{"", "Unknown command.\n", "1\n# be_id be_name srv_id\n"} {
		if _, err := ParseServersState(bad); err == nil {
			t.Errorf("ParseServersState(%q): no error", bad)
		}
	}
}

func TestDetectServersMapsNodesToServers(t *testing.T) {
	servers, err := ParseServersState(serversState)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name    string
		nodes   []NodeAddrs
		backend string
		given   map[string]string
		want    map[string]string // node → server
		by      map[string]string // node → part of how
		missing string            // part of the first missing reason
	}{
		{"by name", []NodeAddrs{{Name: "primary1"}, {Name: "primary2"}}, "", nil,
			map[string]string{"primary1": "primary1", "primary2": "primary2"}, map[string]string{"primary1": "name"}, ""},
		{"by container address", []NodeAddrs{{Name: "east", IPs: []string{"172.30.77.2"}}, {Name: "west", IPs: []string{"10.0.0.1", "172.30.77.3"}}}, "", nil,
			map[string]string{"east": "primary1", "west": "primary2"}, map[string]string{"east": "address 172.30.77.2:5432"}, ""},
		{"by dsn host:port, numeric or the server's host name", []NodeAddrs{{Name: "east", DSN: "pgchaos-fo-cap-hap:5432"}, {Name: "west", DSN: "172.30.77.3:5432"}}, "", nil,
			map[string]string{"east": "primary1", "west": "primary2"}, map[string]string{"west": "dsn 172.30.77.3:5432"}, ""},
		{"named in the target file", []NodeAddrs{{Name: "east"}, {Name: "west", IPs: []string{"172.30.77.2"}}}, "pg", map[string]string{"east": "primary2"},
			map[string]string{"east": "primary2", "west": "primary1"}, map[string]string{"east": "target file"}, ""},
		{"a node without a server", []NodeAddrs{{Name: "east", IPs: []string{"172.30.77.2"}}, {Name: "west", IPs: []string{"10.0.0.9"}}}, "", nil,
			map[string]string{"east": "primary1"}, nil, "no server of backend pg points at west: name it under haproxy.servers"},
		{"no backend points at any node", []NodeAddrs{{Name: "east"}, {Name: "west"}}, "", nil,
			nil, nil, "no server of any HAProxy backend (pg, other) points at the node"},
		{"a backend HAProxy does not have", []NodeAddrs{{Name: "east"}}, "pgsql", nil,
			nil, nil, `HAProxy has no backend "pgsql" with servers (it has: pg, other)`},
		{"a named server the backend does not have", []NodeAddrs{{Name: "east"}}, "pg", map[string]string{"east": "srv9"},
			nil, nil, `haproxy.servers names server "srv9" for east, which backend pg does not have (it has: primary1, primary2)`},
		{"a server claimed in the file is not matched again", []NodeAddrs{{Name: "east"}, {Name: "west", IPs: []string{"172.30.77.2"}}}, "pg", map[string]string{"east": "primary1"},
			map[string]string{"east": "primary1"}, nil, "no server of backend pg points at west"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := DetectServers(servers, c.nodes, c.backend, c.given)
			got := m.Servers
			if len(got) == 0 {
				got = nil
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("servers %v, want %v (missing %+v)", m.Servers, c.want, m.Missing)
			}
			for n, how := range c.by {
				if !strings.Contains(m.By[n], how) {
					t.Errorf("%s matched by %q, want %q", n, m.By[n], how)
				}
			}
			switch {
			case c.missing == "" && len(m.Missing) > 0:
				t.Errorf("missing %+v, want none", m.Missing)
			case c.missing != "" && (len(m.Missing) == 0 || !strings.Contains(m.Missing[0].Reason, c.missing)):
				t.Errorf("missing %+v, want a reason containing %q", m.Missing, c.missing)
			}
			if len(m.Servers)+len(m.Missing) != len(c.nodes) {
				t.Errorf("%d mapped and %d missing for %d nodes", len(m.Servers), len(m.Missing), len(c.nodes))
			}
		})
	}
}

func TestDetectServersAsksWhenTwoBackendsFitAlike(t *testing.T) {
	servers := []ProxyServer{
		{Backend: "rw", Name: "a", Addr: "10.0.0.1", Port: 5432},
		{Backend: "ro", Name: "a", Addr: "10.0.0.1", Port: 5432},
	}
	m := DetectServers(servers, []NodeAddrs{{Name: "east", IPs: []string{"10.0.0.1"}}}, "", nil)
	if len(m.Servers) != 0 || len(m.Missing) != 1 || !strings.Contains(m.Missing[0].Reason, "backends rw and ro each have servers for 1 of the nodes: name the right one under haproxy.backend") {
		t.Errorf("got %+v", m)
	}
	m = DetectServers(servers, []NodeAddrs{{Name: "east", IPs: []string{"10.0.0.1"}}}, "ro", nil)
	if m.Backend != "ro" || m.Servers["east"] != "a" {
		t.Errorf("with backend ro: %+v", m)
	}
}
