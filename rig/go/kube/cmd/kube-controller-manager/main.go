// Command kube-controller-manager is the release's own (k8s.io/kubernetes
// cmd/kube-controller-manager/controller-manager.go) with the Job controller's sync batch
// at 100 ms instead of 1 s, as Kubernetes' own integration tests set it
// (test/integration/job/job_test.go, fastSyncJobBatchPeriod; the var is exported for
// tests): every hook Job of the suite waited that second after its pod ended. The
// failed pod's retry keeps its real 10 s backoff (DefaultJobPodFailureBackOff): a retried
// cleanup's Lease wait and timeout depend on it, as on a real cluster.
package main

import (
	"os"
	"time"
	_ "time/tzdata" // for CronJob Time Zone support

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"          // for JSON log format registration
	_ "k8s.io/component-base/metrics/prometheus/clientgo" // load all the prometheus client-go plugin
	_ "k8s.io/component-base/metrics/prometheus/version"  // for version metric registration
	"k8s.io/kubernetes/cmd/kube-controller-manager/app"
	jobcontroller "k8s.io/kubernetes/pkg/controller/job"
)

func main() {
	jobcontroller.SyncJobBatchPeriod = 100 * time.Millisecond
	command := app.NewControllerManagerCommand()
	code := cli.Run(command)
	os.Exit(code)
}
