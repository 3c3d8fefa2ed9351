// The seed app `my-kubeflow` in its `cloud` environment, as jsonnet: the same three components
// and params as its components/*.toml and environments/cloud.toml, post-processed as Kiln does.
// `jsonnet --tla-str ... cloud.jsonnet` prints the same List as `kiln show cloud -o json` in that app.
local kiln = import 'kiln.libsonnet';
local core = import 'kubeflow/core.libsonnet';
local nfs = import 'kubeflow/nfs.libsonnet';
local tfServing = import 'kubeflow/tf-serving.libsonnet';

// The sha256 of each prototype's .wasm file, from the app's kiln.lock, as top-level string
// arguments (`--tla-str coreDigest=sha256:...`): jsonnet can hash strings (std.sha256) but not binary
// files, and the digests change whenever a prototype is rebuilt.
function(coreDigest, nfsDigest, tfServingDigest)
local digests = { core: coreDigest, nfs: nfsDigest, tfServing: tfServingDigest };

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
