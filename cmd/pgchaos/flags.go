package main

import (
	"github.com/spf13/pflag"

	"github.com/pgchaos/pgchaos/lab"
)

// labNameFlag adds --name, the lab a lab subcommand acts on.
func labNameFlag(fs *pflag.FlagSet) *string {
	return fs.String("name", lab.DefaultName, "lab name")
}
