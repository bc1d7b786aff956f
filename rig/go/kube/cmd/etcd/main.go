// Command etcd is etcd's own server main (go.etcd.io/etcd/server/v3/etcdmain) at the
// version k8s.io/kubernetes requires; etcd's server module has replace lines of its
// own, so it is built from here rather than with go install.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
