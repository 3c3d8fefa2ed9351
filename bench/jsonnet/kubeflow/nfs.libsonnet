// @name kubeflow/core/nfs
// @description NFS servers that share disks with every Kubeflow notebook. For each disk D: an
//   nfs-provisioner Deployment `D-provisioner` and Service `D-service`, a StorageClass `D-nfs`,
//   and a ReadWriteMany claim `D` that the notebooks of the app's `core` components mount at
//   /mnt/D. On `gke` each disk is the GCE persistent disk of that name; otherwise it is backed
//   by a claim of `diskSize` from the cluster's default StorageClass.
// @optionalParam name string null Name of the servers' ServiceAccount and roles (default: the component's)
// @optionalParam namespace string null Namespace to deploy to (default: the environment's)
// @optionalParam disks array [] Disks to share; empty renders nothing
// @optionalParam cloud string "" Curated cloud configuration: gke, azure or empty
// @optionalParam nfsImage string quay.io/kubernetes_incubator/nfs-provisioner:v1.0.8 The image
// @optionalParam diskSize string 10Gi Size of each disk's backing claim when not on gke
local common = import 'common.libsonnet';
{
  name: 'nfs',
  // Declared params and their defaults; null: no default, absent unless set.
  params: {
    name: null,
    namespace: null,
    disks: [],
    cloud: '',
  } + common.nfsParams,
  required: [],

  generate(params, component, env)::
    local p = $.params + params;
    local name =
      if p.name != null then common.dns1123Label('name', p.name)
      else if common.isLabel(component) then component
      else common.fail('name', 'is not set and the component name `%s` is not a valid '
                               % component + 'DNS-1123 label; set `name` to a lowercase name');
    local namespace = common.namespace(p, env);
    local cloud = common.oneOf('cloud', p.cloud, common.clouds);
    local disks = common.checkDisks('disks', p.disks);
    local diskSize = common.checkQuantity('diskSize', p.diskSize);
    // Every param is checked even when there is no disk to render, as the prototype does.
    assert std.all([std.isString(v) for v in [name, namespace, cloud, diskSize]]);
    common.nfsServers(name, namespace, component, disks, cloud, p.nfsImage, diskSize),
}
