package lab

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pgchaos/pgchaos/compose"
	"github.com/pgchaos/pgchaos/node"
)

func TestParseShowStatKeepsTheBackendServers(t *testing.T) {
	out := "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,\n" +
		"postgres,FRONTEND,,,1,2,2000,5,,,,,,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,1,,\n" +
		"pg,primary1,0,0,3,4,,9,,,,,,0,0,0,0,UP,1,1,0,0,0,12,0,,1,3,1,,9,,2,0,,1,L7OK,\n" +
		"pg,primary2,0,0,0,1,,4,,,,,,0,0,0,0,MAINT,1,1,0,0,0,12,0,,1,3,2,,4,,2,0,,1,L7OK,\n" +
		"pg,BACKEND,0,0,3,4,200,13,,,,,,,,,,UP,2,2,0,,0,12,0,,1,3,0,,13,,1,0,,2,,\n" +
		"stats,FRONTEND,,,0,1,2000,1,,,,,,,,,,OPEN,,,,,,,,,1,4,0,,,,0,0,0,1,,\n"
	bs, err := parseShowStat(out, "pg")
	if err != nil {
		t.Fatal(err)
	}
	want := []Backend{{"primary1", "UP", "L7OK", 3}, {"primary2", "MAINT", "L7OK", 0}}
	if len(bs) != len(want) {
		t.Fatalf("got %+v, want %+v", bs, want)
	}
	for i := range want {
		if bs[i] != want[i] {
			t.Errorf("backend %d: got %+v, want %+v", i, bs[i], want[i])
		}
	}
}

func TestParseShowStatRejectsGarbage(t *testing.T) {
	for _, out := range []string{"", "Unknown command.\n", "# a,b\n1,2\n"} {
		if _, err := parseShowStat(out, "pg"); err == nil {
			t.Errorf("parseShowStat(%q): no error", out)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name    string
		mod     func(*Config)
		wantErr string
	}{
		{"defaults are valid", func(*Config) {}, ""},
		{"postgres 16 is refused", func(c *Config) { c.Postgres = "16" }, "use 18 (default), 17 or 19"},
		{"unknown sequences", func(c *Config) { c.Sequences = "random" }, "interleaved (default), serial or uuid"},
		{"bad name", func(c *Config) { c.Name = "My Lab" }, "lab name"},
		{"same port twice", func(c *Config) { c.Ports.HAProxy = c.Ports.Primary1 }, "given to both primary1 and haproxy"},
		{"port out of range", func(c *Config) { c.Ports.Stats = 70000 }, "out of range"},
		{"default password on every interface", func(c *Config) { c.Listen = "0.0.0.0" }, `the default superuser password "postgres" is refused there`},
		{"default password on a LAN address", func(c *Config) { c.Listen = "192.168.1.5" }, "is refused there"},
		{"own password on every interface", func(c *Config) { c.Listen = "0.0.0.0"; c.Password = "s3cret" }, ""},
		{"default password on IPv6 loopback", func(c *Config) { c.Listen = "::1" }, ""},
		{"password with a newline", func(c *Config) { c.Password = "a\nb" }, "printable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := New()
			c.mod(&cfg)
			err := cfg.Validate()
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Fatalf("error %v, want it to contain %q", err, c.wantErr)
			}
		})
	}
}

func TestDSNAndNames(t *testing.T) {
	l := &Lab{Name: "x", Nodes: []Node{{Name: Primary1, Host: "0.0.0.0", Port: 5442}, {Name: Primary2, Host: "127.0.0.1", Port: 5443}},
		Proxy: Proxy{Host: "127.0.0.1", Port: 5020, StatsPort: 7020}}
	cases := map[string]string{
		Primary1: "postgres://postgres:postgres@127.0.0.1:5442/postgres?sslmode=disable&connect_timeout=5",
		Primary2: "postgres://postgres:postgres@127.0.0.1:5443/postgres?sslmode=disable&connect_timeout=5",
		HAProxy:  "postgres://postgres:postgres@127.0.0.1:5020/postgres?sslmode=disable&connect_timeout=5",
	}
	for target, want := range cases {
		if got := l.MustDSN(target); got != want {
			t.Errorf("DSN(%s) = %s, want %s", target, got, want)
		}
	}
	if _, err := l.DSN("primary3"); err == nil {
		t.Error("DSN(primary3): no error")
	}
	if SubscriptionOn(Primary1) != "sub_from_primary2" || SubscriptionOn(Primary2) != "sub_from_primary1" {
		t.Error("subscription names")
	}
	if l.StatsURL() != "http://127.0.0.1:7020/" {
		t.Errorf("stats url %s", l.StatsURL())
	}
}

func TestPasswordReachesConnectionStrings(t *testing.T) {
	l := &Lab{Name: "x", Password: "p@ss word", Nodes: []Node{{Name: Primary1, Host: "0.0.0.0", Port: 5442}}, Proxy: Proxy{Host: "0.0.0.0", Port: 5020}}
	if got, want := l.MustDSN(Primary1), "postgres://postgres:p%40ss%20word@127.0.0.1:5442/postgres?sslmode=disable&connect_timeout=5"; got != want {
		t.Errorf("DSN = %s, want %s", got, want)
	}
	if got, want := l.MustDSN(HAProxy), "postgres://postgres:p%40ss%20word@127.0.0.1:5020/postgres?sslmode=disable&connect_timeout=5"; got != want {
		t.Errorf("haproxy DSN = %s, want %s", got, want)
	}
	for pw, want := range map[string]string{
		"postgres":  "host=primary2 port=5432 user=postgres password=postgres dbname=postgres",
		"it's a \\": `host=primary2 port=5432 user=postgres password='it\'s a \\' dbname=postgres`,
		"":          "host=primary2 port=5432 user=postgres password='' dbname=postgres",
	} {
		if got := PeerConninfo(Primary2, pw); got != want {
			t.Errorf("PeerConninfo(%q) = %s, want %s", pw, got, want)
		}
	}
}

func TestPortsOfMorePrimariesFollowOnFromTheLastGiven(t *testing.T) {
	cases := []struct {
		name  string
		ports Ports
		n     int
		want  []int
	}{
		{"defaults", Ports{}, 3, []int{5442, 5443, 5444}},
		{"five by default", Ports{}, 5, []int{5442, 5443, 5444, 5445, 5446}},
		{"after primary2", Ports{Primary1: 6442, Primary2: 6443}, 4, []int{6442, 6443, 6444, 6445}},
		{"rest given", Ports{Rest: []int{7000, 0, 7100}}, 5, []int{5442, 5443, 7000, 7001, 7100}},
	}
	for _, c := range cases {
		cfg := New(WithNodes(c.n), WithPorts(c.ports))
		var got []int
		for i := 1; i <= c.n; i++ {
			got = append(got, cfg.Ports.Primary(i))
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) || len(cfg.Ports.Rest) != c.n-2 {
			t.Errorf("%s: ports %v (rest %v), want %v", c.name, got, cfg.Ports.Rest, c.want)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
	}
}

func TestValidateRefusesNodeCountsOutsideTwoToFive(t *testing.T) {
	for _, n := range []int{1, 6, 9} {
		cfg := New(WithNodes(n))
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), "2 to 5") {
			t.Errorf("nodes %d: err = %v, want one naming 2 to 5", n, err)
		}
	}
	cfg := New(WithNodes(3), WithPorts(Ports{Rest: []int{5020}}))
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "primary3") {
		t.Errorf("primary3 on haproxy's port: err = %v", err)
	}
}

func TestFreePortsForGivesEveryPrimaryItsOwnPort(t *testing.T) {
	p := FreePortsFor(Ports{}, 4)
	seen := map[int]bool{}
	for _, port := range []int{p.Primary(1), p.Primary(2), p.Primary(3), p.Primary(4), p.HAProxy, p.Stats} {
		if port == 0 || seen[port] {
			t.Fatalf("ports %+v: zero or repeated", p)
		}
		seen[port] = true
	}
}

func TestHAProxyConfigBalancesOverEveryPrimary(t *testing.T) {
	conf := string(haproxyConfig(node.PrimariesOf(3)))
	for _, p := range node.PrimariesOf(3) {
		if !strings.Contains(conf, "    server "+p+" "+p+":5432 check\n") {
			t.Errorf("no server line for %s in:\n%s", p, conf)
		}
	}
	if strings.Count(conf, "server primary") != 3 || !strings.Contains(conf, "balance roundrobin") || !strings.Contains(conf, "listen stats") {
		t.Errorf("config:\n%s", conf)
	}
	if two := haproxyConfig(node.Primaries()); string(two) != string(compose.HAProxyConfig) {
		t.Errorf("two-node config differs from compose/haproxy.cfg:\n%s", two)
	}
}

func TestMeshNamesEverySubscriptionAndSlotApart(t *testing.T) {
	for _, engine := range Engines {
		for _, n := range []int{2, 3, 5} {
			l := &Lab{Engine: engine}
			for _, name := range node.PrimariesOf(n) {
				l.Nodes = append(l.Nodes, Node{Name: name})
			}
			links := l.Links()
			if len(links) != n*(n-1) {
				t.Fatalf("%s, %d nodes: %d links", engine, n, len(links))
			}
			slots := map[string]bool{}
			subs := map[string]bool{}
			for _, k := range links {
				slot, sub := k.Publisher+"/"+k.Slot, k.Subscriber+"/"+k.Name
				if slots[slot] || subs[sub] {
					t.Errorf("%s, %d nodes: %+v repeats a slot or subscription name", engine, n, k)
				}
				slots[slot], subs[sub] = true, true
			}
			if n == 2 && (links[0].Name != "sub_from_primary2" || engine == EngineNative && links[0].Slot != "sub_from_primary2") {
				t.Errorf("%s two-node link %+v: want the tutorial's names", engine, links[0])
			}
			if engine == EngineNative && links[0].Name != SubscriptionFrom(links[0].Publisher) {
				t.Errorf("native subscription %q, want sub_from_<publisher>", links[0].Name)
			}
		}
	}
}
