package lab

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"
)

// Labels every Docker object of a lab carries. Cleanup finds objects by
// these labels, never by name pattern.
const (
	LabelLab       = "pgchaos.lab"       // the lab's name
	LabelRole      = "pgchaos.role"      // primary1 … primaryN, haproxy, helper, network, volume
	LabelPostgres  = "pgchaos.postgres"  // major version
	LabelSequences = "pgchaos.sequences" // sequence strategy
	LabelListen    = "pgchaos.listen"    // host address the ports bind to
	LabelEngine    = "pgchaos.engine"    // replication engine (absent: native)
	LabelResolver  = "pgchaos.resolver"  // pglogical's conflict resolver
	LabelSchema    = "pgchaos.schema"    // the user's DDL: file name and digest (absent: none)
	LabelNodes     = "pgchaos.nodes"     // how many primaries the lab has (absent: 2)
	// LabelRetainDeadTuples is "true" when the subscriptions retain dead
	// tuples (PostgreSQL 19); absent otherwise.
	LabelRetainDeadTuples = "pgchaos.retain_dead_tuples"
)

// RoleHelper marks short-lived helper containers (network faults); they are
// never targets of faults and lab down removes them too.
const RoleHelper = "helper"

// Labels returns the labels for a lab object of the given role.
func Labels(lab, role string) map[string]string {
	return map[string]string{LabelLab: lab, LabelRole: role}
}

// Docker connects to the Docker engine (DOCKER_HOST and friends), negotiating
// the API version, and checks that it answers.
func Docker(ctx context.Context) (*client.Client, error) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := cli.Ping(pctx); err != nil {
		cli.Close()
		host := os.Getenv("DOCKER_HOST")
		if host == "" {
			host = client.DefaultDockerHost
		}
		return nil, fmt.Errorf("cannot reach the Docker engine at %s (%v): is the daemon running, and may this user use it? (set DOCKER_HOST to use another engine)", host, err)
	}
	cli.NegotiateAPIVersion(ctx)
	return cli, nil
}

// LabelFilter selects every Docker object of the lab called name.
func LabelFilter(name string) filters.Args {
	return filters.NewArgs(filters.Arg("label", LabelLab+"="+name))
}

func containerName(lab, role string) string { return "pgchaos-" + lab + "-" + role }
func networkName(lab string) string         { return "pgchaos-" + lab }
func volumeName(lab, node string) string    { return "pgchaos-" + lab + "-" + node + "-data" }
