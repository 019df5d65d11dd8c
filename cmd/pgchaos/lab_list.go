package main

import (
	"context"
	"fmt"
	"sort"

	"github.com/docker/docker/api/types/container"
	"github.com/olekukonko/tablewriter"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/lab"
)

var labListCmd = command{
	summary: "list the labs on this Docker engine",
	usage:   "Usage: pgchaos lab list\n\nLists labs found by their pgchaos.lab label.",
	run: func(ctx context.Context, e *env, usage string, args []string) error {
		fs := flags(e, "lab list", usage)
		if err := parse(fs, args); err != nil {
			return err
		}
		if err := noArgs(fs, "lab list"); err != nil {
			return err
		}
		cli, err := lab.Docker(ctx)
		if err != nil {
			return exitcode.InfraErr(err)
		}
		defer cli.Close()
		cs, err := cli.ContainerList(ctx, container.ListOptions{All: true})
		if err != nil {
			return exitcode.InfraErr(err)
		}
		labs := map[string][]string{}
		for _, c := range cs {
			if name, ok := c.Labels[lab.LabelLab]; ok {
				labs[name] = append(labs[name], c.Labels[lab.LabelRole]+":"+c.State)
			}
		}
		names := make([]string, 0, len(labs))
		for n := range labs {
			names = append(names, n)
		}
		sort.Strings(names)
		t := tablewriter.NewTable(e.stdout)
		t.Header("lab", "containers")
		for _, n := range names {
			sort.Strings(labs[n])
			t.Append(n, fmt.Sprint(labs[n]))
		}
		return t.Render()
	},
}
