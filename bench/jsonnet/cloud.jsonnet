// The seed app `my-kubeflow` in its `cloud` environment, as jsonnet: the same three components
// and params as its components/*.toml and environments/cloud.toml, post-processed as Kiln does.
// `jsonnet cloud.jsonnet` prints the same List as `kiln show cloud -o json` in that app.
local kiln = import 'kiln.libsonnet';
local core = import 'kubeflow/core.libsonnet';
local nfs = import 'kubeflow/nfs.libsonnet';
local tfServing = import 'kubeflow/tf-serving.libsonnet';

// The sha256 of each prototype's .wasm file, from the app's kiln.lock. Constants: jsonnet can
// hash strings (std.sha256) but not binary files, so these cannot be computed here.
local digests = {
  core: 'sha256:a7edadb379bb7f99aebd78889108ce1445b4597eb12a46aef29c5b70459a4f21',
  nfs: 'sha256:ae76a866334e1d7016291dc67485d37922e4b85ca05cbfc40e59f55c5496c9dc',
  tfServing: 'sha256:e845217f952edfcaf2b426a98e6933502bad46d8e77403ecd631e2e596a9a0a1',
};

// environments/cloud.toml
local env = {
  name: 'cloud',
  namespace: 'default',
  labels: {},
  params: {},
  components: {
    'kubeflow-core': { cloud: 'gke' },
    nfs: { disks: ['pd1', 'pd2'] },
  },
};

kiln.render('my-kubeflow', env, [
  // components/kubeflow-core.toml
  {
    name: 'kubeflow-core',
    prototype: core,
    digest: digests.core,
    params: { name: 'kubeflow-core' },
  },
  // components/nfs.toml
  { name: 'nfs', prototype: nfs, digest: digests.nfs, params: {} },
  // components/serveInception.toml
  {
    name: 'serveInception',
    prototype: tfServing,
    digest: digests.tfServing,
    params: {
      modelPath: 'gs://cloud-ml-dev_jlewi/tmp/inception',
      name: 'inception',
      namespace: 'default',
    },
  },
])
