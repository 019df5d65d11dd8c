package lab

import (
	"context"
	"strings"
	"testing"
)

// A user's nodes become a Lab without Docker when no container is named:
// their names, endpoints and subscriptions as given, and the load balancer
// reached with the first node's credentials.
func TestExternalKeepsTheUsersNamesLinksAndConnections(t *testing.T) {
	l, err := External(context.Background(), ExternalConfig{
		Name: "target-cluster", Postgres: "18", Engine: EngineNative,
		Nodes: []ExternalNode{
			{Name: "east", ConnString: "postgres://app:s3cret@db-east:6432/app?sslmode=disable"},
			{Name: "west", ConnString: "host=db-west port=5432 user=app dbname=app password=s3cret"},
		},
		Links: []Link{
			{Subscriber: "east", Publisher: "west", Name: "from_west", Slot: "slot_west_east"},
			{Subscriber: "west", Publisher: "east", Name: "from_east", Slot: "slot_east_west"},
		},
		HAProxy: "lb:5000",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if !l.IsExternal() || strings.Join(l.Primaries(), ",") != "east,west" {
		t.Fatalf("external %v, nodes %v", l.IsExternal(), l.Primaries())
	}
	if n, _ := l.Node("east"); n.Host != "db-east" || n.Port != 6432 || n.User != "app" || n.ID != "" {
		t.Errorf("east: %+v", n)
	}
	if got := l.SlotOn("west", "east"); got != "slot_east_west" {
		t.Errorf("slot of west's subscription to east: %q", got)
	}
	if got := l.Links(); len(got) != 2 || got[0].Name != "from_west" {
		t.Errorf("links %+v", got)
	}
	if d, _ := l.DSN("west"); d != "host=db-west port=5432 user=app dbname=app password=s3cret" {
		t.Error("west's DSN is not the user's")
	}
	if d, err := l.DSN(HAProxy); err != nil || !strings.Contains(d, "@lb:5000/app") {
		t.Errorf("haproxy DSN (%v): want east's credentials aimed at lb:5000", err)
	}
	if _, err := l.DSN("primary1"); err == nil {
		t.Error("a lab's name accepted on a target")
	}
}

func TestWithHostPortAimsEitherFormAtTheLoadBalancer(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://app@db:5432/app?sslmode=disable": "postgres://app@lb:5000/app?sslmode=disable",
		"host=db port=5432 user=app":                 "host=db port=5432 user=app host='lb' port=5000",
	} {
		if got := withHostPort(in, "lb", 5000); got != want {
			t.Errorf("withHostPort(%q) = %q, want %q", in, got, want)
		}
	}
}
