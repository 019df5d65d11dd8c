package target

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/pgchaos/pgchaos/exitcode"
)

const goodFile = `nodes:
  - name: east
    dsn: "postgres://app:s3cret-east@db-east:5432/app"
    container: pg-east
  - name: west
    dsn: "host=db-west port=6543 user=app dbname=app password='w3st pw'"
    docker_host: "ssh://ops@west"
    container: pg-west
haproxy: { address: "lb:5000", admin: "lb:9999" }
`

func TestParseReadsNodesAndHAProxy(t *testing.T) {
	tg, err := Parse("cluster.yaml", []byte(goodFile))
	if err != nil {
		t.Fatal(err)
	}
	if len(tg.Nodes) != 2 {
		t.Fatalf("nodes = %d, want 2", len(tg.Nodes))
	}
	e, w := tg.Nodes[0], tg.Nodes[1]
	if e.Name != "east" || e.Container != "pg-east" || e.DockerHost != "" || e.Endpoint() != "app@db-east:5432/app" {
		t.Errorf("east = %#v", e)
	}
	if w.Name != "west" || w.DockerHost != "ssh://ops@west" || w.Endpoint() != "app@db-west:6543/app" {
		t.Errorf("west = %#v", w)
	}
	if tg.HAProxy == nil || tg.HAProxy.Address != "lb:5000" || tg.HAProxy.Admin != "lb:9999" {
		t.Errorf("haproxy = %+v", tg.HAProxy)
	}
	if e.Config().Password != "s3cret-east" || w.Config().Password != "w3st pw" {
		t.Error("the passwords should reach the connection config")
	}
	if e.Pos.Line != 2 {
		t.Errorf("east at line %d, want 2", e.Pos.Line)
	}
}

func TestParseTakesTheTargetSectionOfAScenario(t *testing.T) {
	scen := "name: s\nduration: 10s\nworkloads: [{kind: insert}]\ntarget:\n" + indent(goodFile, "  ")
	tg, err := Parse("scenario.yaml", []byte(scen))
	if err != nil {
		t.Fatal(err)
	}
	if len(tg.Nodes) != 2 || tg.Nodes[0].Pos.Line != 6 {
		t.Errorf("nodes = %v, first at line %d", tg.Nodes, tg.Nodes[0].Pos.Line)
	}
}

func indent(s, by string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := range lines {
		lines[i] = by + lines[i]
	}
	return strings.Join(lines, "\n") + "\n"
}

func TestParseErrorsArePositioned(t *testing.T) {
	cases := []struct {
		name, file, want string
	}{
		{"empty", "", "f.yaml:1: the file is empty"},
		{"no nodes", "haproxy: {address: 'lb:1'}\n", "f.yaml:1:1: nodes: is required"},
		{"unknown key", "nodes: [{name: a, dsn: 'host=x'}]\nextra: 1\n", `f.yaml:2:1: unknown key "extra"`},
		{"bad name", "nodes:\n  - {name: East!, dsn: 'host=x'}\n", `f.yaml:2:12: nodes[0].name "East!": use lower-case letters`},
		{"reserved name", "nodes:\n  - {name: haproxy, dsn: 'host=x'}\n", `nodes[0].name "haproxy" is the name workloads use`},
		{"duplicate", "nodes:\n  - {name: a, dsn: 'host=x'}\n  - {name: a, dsn: 'host=y'}\n", `f.yaml:3:5: nodes[1]: name "a" is already the name of the node at line 2`},
		{"no dsn", "nodes:\n  - {name: a}\n", "f.yaml:2:5: nodes[0]: dsn: is required"},
		{"bad dsn", "nodes:\n  - {name: a, dsn: 'postgres://u:pw@h:notaport/d'}\n", "f.yaml:2:20: nodes[0].dsn does not parse"},
		{"too many", "nodes: [" + strings.Repeat("{name: a, dsn: 'host=x'},", MaxNodes+1) + "]\n", "at most 16 are allowed"},
		{"bad docker_host", "nodes:\n  - {name: a, dsn: 'host=x', container: c, docker_host: 'http://x'}\n", "docker_host \"http://x\": use unix://"},
		{"docker_host with a bad ssh port", "nodes:\n  - {name: a, dsn: 'host=x', container: c, docker_host: 'ssh://ops@west:0'}\n", "ssh:// port must be 1 to 65535"},
		{"docker_host without container", "nodes:\n  - {name: a, dsn: 'host=x', docker_host: 'tcp://x:2375'}\n", "names an engine but no container"},
		{"bad container", "nodes:\n  - {name: a, dsn: 'host=x', container: 'a b'}\n", "is not a Docker container name"},
		{"bad admin", "nodes: [{name: a, dsn: 'host=x'}]\nhaproxy: {admin: 'lb'}\n", `f.yaml:2:18: haproxy.admin "lb" is not host:port`},
		{"long name", "nodes: [{name: " + strings.Repeat("a", 40) + ", dsn: 'host=x'}]\n", "at most 32 are allowed"},
		{"not yaml", "nodes: [\n", "f.yaml:1: not valid YAML"},
		{"target not a mapping", "target: [1]\n", "f.yaml:1:9: target: must be a mapping"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(c.file))
			if err == nil {
				t.Fatalf("no error, want %q", c.want)
			}
			if exitcode.Of(err) != exitcode.BadInput {
				t.Errorf("exit code %d, want %d", exitcode.Of(err), exitcode.BadInput)
			}
			var es Errors
			if !errors.As(err, &es) {
				t.Fatalf("error %T is not Errors", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error:\n%s\nwant it to contain %q", err, c.want)
			}
		})
	}
}

func TestParseNeverQuotesADSN(t *testing.T) {
	for _, file := range []string{
		"nodes:\n  - {name: a, dsn: 'postgres://u:hunter2@h:notaport/d'}\n",
		"nodes:\n  - {name: a, dsn: \"host=h password=hunter2 port=x\"}\n",
		"nodes:\n  - {name: a, dsn: \"host=h password=hunter2 sslmode=bogus\"}\n",
		"nodes:\n  - {name: 'A', dsn: \"host=h password=hunter2\"}\n",
	} {
		_, err := Parse("f.yaml", []byte(file))
		if err == nil {
			t.Fatalf("%q: no error", file)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error shows the password:\n%s", err)
		}
	}
}

func TestNodeFormattingHidesThePassword(t *testing.T) {
	tg, err := Parse("f.yaml", []byte(goodFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range tg.Nodes {
		for _, s := range []string{n.String(), fmt.Sprint(n), fmt.Sprintf("%v %+v %#v %s %q", n, n, n, n, n),
			fmt.Sprintf("%+v", *tg), fmt.Sprintf("%+v", tg.Nodes)} {
			if strings.Contains(s, "s3cret-east") || strings.Contains(s, "w3st pw") {
				t.Errorf("%s shows a password: %s", n.Name, s)
			}
		}
	}
}

func TestParseHAProxyBackendAndServers(t *testing.T) {
	base := "nodes:\n  - {name: east, dsn: 'host=x'}\n  - {name: west, dsn: 'host=y'}\n"
	tg, err := Parse("f.yaml", []byte(base+"haproxy:\n  admin: lb:9999\n  backend: pg\n  servers: {east: srv1, west: srv2}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if h := tg.HAProxy; h.Backend != "pg" || h.Servers["east"] != "srv1" || h.Servers["west"] != "srv2" || len(h.Servers) != 2 {
		t.Errorf("haproxy = %+v", h)
	}
	for _, c := range []struct{ name, haproxy, want string }{
		{"unknown node", "haproxy:\n  admin: lb:9999\n  servers: {east: srv1, north: srv2}\n", `f.yaml:6:25: haproxy.servers: "north" is not a node of the target (nodes: east, west)`},
		{"duplicate server", "haproxy:\n  admin: lb:9999\n  servers:\n    east: srv1\n    west: srv1\n", `f.yaml:8:11: haproxy.servers: server "srv1" is already east's: each node needs a server of its own`},
		{"servers not a mapping", "haproxy:\n  admin: lb:9999\n  servers: [srv1]\n", "f.yaml:6:12: haproxy.servers must be a mapping of node name to HAProxy server name"},
		{"bad server name", "haproxy:\n  admin: lb:9999\n  servers: {east: 'srv 1'}\n", `f.yaml:6:19: haproxy.servers.east "srv 1" is not an HAProxy server name`},
		{"bad backend name", "haproxy:\n  admin: lb:9999\n  backend: 'p/g'\n", `f.yaml:6:12: haproxy.backend "p/g" is not an HAProxy backend name`},
		{"servers without admin", "haproxy:\n  address: lb:5000\n  servers: {east: srv1}\n", "f.yaml:5:3: haproxy: backend: and servers: are for failover, which needs admin:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(base+c.haproxy))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
}
