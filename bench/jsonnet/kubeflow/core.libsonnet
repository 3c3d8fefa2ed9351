// @name kubeflow/core/core
// @description Kubeflow core: JupyterHub for notebooks and the TensorFlow job operator. Also
//   defines the TfJob custom resource and the operator's cluster-wide RBAC. Notebooks mount the
//   disks named in `disks` (served by NFS servers this component renders) or, when `disks` is
//   empty, the disks of the app's `nfs` components.
// @param name string Name of the deployment; also names the NFS servers' ServiceAccount and roles
// @optionalParam namespace string null Namespace to deploy to (default: the environment's)
// @optionalParam disks array [] Disks to share with every notebook at /mnt/<disk> over NFS
// @optionalParam cloud string "" Curated cloud configuration: gke, azure or empty
// @optionalParam tfJobImage string gcr.io/tf-on-k8s-dogfood/tf_operator:v20171214-0bd02ac The operator image
// @optionalParam jupyterHubImage string gcr.io/kubeflow/jupyterhub:1.0 The JupyterHub image
// @optionalParam jupyterHubServiceType string ClusterIP Type of the tf-hub-lb Service
// @optionalParam notebookImage string gcr.io/kubeflow/tensorflow-notebook-cpu Default notebook image
// @optionalParam nfsImage string quay.io/kubernetes_incubator/nfs-provisioner:v1.0.8 The NFS image
// @optionalParam diskSize string 10Gi Size of each disk's backing claim when not on gke
local common = import 'common.libsonnet';
local tfjob = common.tfjob;

// `jupyterhub_config.py`. Values from params are written as JSON literals, which are valid
// Python, so no param can inject code into the hub's config.
local hubConfig(notebookImage, disks) =
  local literal(v) = std.manifestJsonMinified(v);
  local list(items) = '[\n' + std.join('', ['    %s,\n' % literal(i) for i in items]) + ']';
  local volumes = [{
    name: 'volume-{username}{servername}',
    persistentVolumeClaim: { claimName: 'claim-{username}{servername}' },
  }] + [{ name: d, persistentVolumeClaim: { claimName: d } } for d in disks];
  local mounts = [{ name: 'volume-{username}{servername}', mountPath: '/home/jovyan/work' }]
                 + [{ name: d, mountPath: '/mnt/' + d } for d in disks];
  |||
    # JupyterHub for Kubeflow, rendered by Kiln's `core` prototype.
    import json

    from kubespawner.spawner import KubeSpawner

  ||| + 'DEFAULT_IMAGE = ' + literal(notebookImage) + '\n' + |||
    DEFAULT_CPU = '500m'
    DEFAULT_MEMORY = '1Gi'


    class KubeFormSpawner(KubeSpawner):
        """KubeSpawner that asks for the notebook image, CPU, memory and extra resource limits."""

        def _options_form_default(self):
            return '''
    <label for="image">Image</label>&nbsp;&nbsp;
    <input name="image" placeholder="repo/image:tag"></input>
    <br/><br/>
    <label for="cpu_guarantee">CPU</label>&nbsp;&nbsp;
    <input name="cpu_guarantee" placeholder="200m, 1.0, 2.5, etc"></input>
    <br/><br/>
    <label for="mem_guarantee">Memory</label>&nbsp;&nbsp;
    <input name="mem_guarantee" placeholder="100Mi, 1.5Gi"></input>
    <br/><br/>
    <label for="extra_resource_limits">Extra Resource Limits</label>&nbsp;&nbsp;
    <input name="extra_resource_limits" placeholder='{"nvidia.com/gpu": 3}'></input>
    <br/><br/>
    '''

        def options_from_form(self, formdata):
            fields = ('image', 'cpu_guarantee', 'mem_guarantee', 'extra_resource_limits')
            return {field: formdata.get(field, [''])[0].strip() for field in fields}

        @property
        def singleuser_image_spec(self):
            return self.user_options.get('image') or DEFAULT_IMAGE

        @property
        def cpu_guarantee(self):
            return self.user_options.get('cpu_guarantee') or DEFAULT_CPU

        @property
        def mem_guarantee(self):
            return self.user_options.get('mem_guarantee') or DEFAULT_MEMORY

        @property
        def extra_resource_limits(self):
            extra = self.user_options.get('extra_resource_limits')
            return json.loads(extra) if extra else {}


    # The hub listens on every interface; it is exposed by the tf-hub-0 and tf-hub-lb Services.
    c.JupyterHub.ip = '0.0.0.0'
    c.JupyterHub.hub_ip = '0.0.0.0'
    # Keep notebooks running when the hub restarts.
    c.JupyterHub.cleanup_servers = False
    c.JupyterHub.spawner_class = KubeFormSpawner
    # Any user name and password is accepted: keep the hub private (the default ClusterIP Service)
    # or configure a real authenticator.
    c.JupyterHub.authenticator_class = 'dummyauthenticator.DummyAuthenticator'

    c.KubeSpawner.cmd = 'start-singleuser.sh'
    c.KubeSpawner.args = ['--allow-root']
    # First pulls of notebook images are slow.
    c.KubeSpawner.start_timeout = 600

    # Each user's work directory is a claim of its own, from the default StorageClass.
    c.KubeSpawner.user_storage_pvc_ensure = True
    c.KubeSpawner.user_storage_capacity = '10Gi'
    c.KubeSpawner.pvc_name_template = 'claim-{username}{servername}'
  ||| + 'c.KubeSpawner.volumes = ' + list(volumes) + '\n'
  + 'c.KubeSpawner.volume_mounts = ' + list(mounts) + '\n';

// JupyterHub: its config, the `tf-hub` StatefulSet, its two Services and the RBAC that lets it
// spawn pods, in the reference's order.
local hub(namespace, component, image, serviceType, notebookImage, disks) =
  local labels(extra={}) = common.labels('jupyterhub', component, extra);
  local meta(name, extra={}) = common.meta(name, namespace, labels(extra));
  local selector = { app: 'tf-hub' };
  local port(name, port, target) = { name: name, port: port, targetPort: target, protocol: 'TCP' };
  local config = common.configVolume('jupyterhub-config', '/etc/config');
  [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta('jupyterhub-config'),
      data: { 'jupyterhub_config.py': hubConfig(notebookImage, disks) },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta('tf-hub-0', selector),
      spec: { clusterIP: 'None', selector: selector, ports: [port('hub', 8000, 8000)] },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta('tf-hub-lb', { app: 'tf-hub-lb' }),
      spec: { type: serviceType, selector: selector, ports: [port('http', 80, 8000)] },
    },
    {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: meta('tf-hub', selector),
      spec: {
        replicas: 1,
        serviceName: 'tf-hub-0',
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: labels(selector) },
          spec: {
            serviceAccountName: 'jupyter-hub',
            containers: [{
              name: 'tf-hub',
              image: image,
              command: ['jupyterhub', '-f', '/etc/config/jupyterhub_config.py'],
              ports: [{ name: 'hub', containerPort: 8000 }, { name: 'api', containerPort: 8081 }],
              volumeMounts: [config.mount],
            }],
            volumes: [config.volume],
          },
        },
      },
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta('jupyter-role'),
      // KubeSpawner manages each user's pod and claim, and watches their events.
      rules: [
        common.rule('', ['pods', 'persistentvolumeclaims'],
                    ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete']),
        common.rule('', ['events'], ['get', 'list', 'watch']),
      ],
    },
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: meta('jupyter-hub', { app: 'jupyter-hub' }),
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta('jupyter-role'),
      roleRef: common.roleRef('Role', 'jupyter-role'),
      subjects: common.accountSubjects('jupyter-hub', namespace),
    },
  ];

// `controller_config_file.yaml`: the gRPC server for default parameter servers and, on a known
// cloud, the host paths of the NVIDIA drivers that GPU containers get mounted.
local operatorConfig(cloud) =
  local paths = {
    gke: ['/home/kubernetes/bin/nvidia/lib', '/home/kubernetes/bin/nvidia/bin'],
    azure: ['/usr/lib/nvidia-384', '/usr/lib/nvidia-384/bin'],
  };
  'grpcServerFilePath: /opt/mlkube/grpc_tensorflow_server/grpc_tensorflow_server.py\n'
  + if !std.objectHas(paths, cloud) then '' else |||
    accelerators:
      nvidia.com/gpu:
        volumes:
        - name: nvidia-libraries
          mountPath: /usr/local/nvidia/lib64
          hostPath: %s
        - name: nvidia-binaries
          mountPath: /usr/local/nvidia/bin
          hostPath: %s
  ||| % paths[cloud];

// The TensorFlow job operator: its Deployment, config (with the cloud's GPU driver paths),
// ServiceAccount, and the ClusterRole and binding the reference lacked.
local operator(namespace, component, image, cloud) =
  local name = 'tf-job-operator';
  local labels(extra={}) = common.labels(name, component, extra);
  local meta(n, extra={}) = common.meta(n, namespace, labels(extra));
  local config = common.configVolume('tf-job-operator-config', '/etc/config');
  local field(path) = { fieldRef: { fieldPath: path } };
  local all = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];
  [
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(name, { name: name }),
      spec: {
        replicas: 1,
        selector: { matchLabels: { name: name } },
        template: {
          metadata: { labels: labels({ name: name }) },
          spec: {
            serviceAccountName: name,
            containers: [{
              name: name,
              image: image,
              command: [
                '/opt/mlkube/tf_operator',
                '--controller_config_file=/etc/config/controller_config_file.yaml',
                '-alsologtostderr',
                '-v=1',
              ],
              env: [
                { name: 'MY_POD_NAMESPACE', valueFrom: field('metadata.namespace') },
                { name: 'MY_POD_NAME', valueFrom: field('metadata.name') },
              ],
              volumeMounts: [config.mount],
            }],
            volumes: [config.volume],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: meta('tf-job-operator-config'),
      data: { 'controller_config_file.yaml': operatorConfig(cloud) },
    },
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(name, { app: name }) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: common.meta(name, null, labels({ app: name })),
      // Run TfJobs as Jobs with Services and ConfigMaps, TensorBoard as Deployments, report
      // Events, and check the CRD (this version still tries to register it at start-up).
      rules: [
        common.rule(tfjob.group, [tfjob.plural], all),
        common.rule('apiextensions.k8s.io', ['customresourcedefinitions'],
                    ['get', 'list', 'watch', 'create']),
        common.rule('batch', ['jobs'], all),
        common.rule('apps', ['deployments'], all),
        common.rule('', ['configmaps', 'pods', 'services', 'endpoints', 'events'], all),
      ],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: common.meta(name, null, labels({ app: name })),
      roleRef: common.roleRef('ClusterRole', name),
      subjects: common.accountSubjects(name, namespace),
    },
  ];

// The TfJob CRD with a structural schema: typed down to each replica spec, open where the shape
// is Kubernetes' own (pod templates, volumes) or the operator's (status).
local tfjobCrd(component) =
  local schema(type) = { type: type };
  local described(props, doc) = props + (if doc == '' then {} else { description: doc });
  local string(doc) = described(schema('string'), doc);
  local integer(doc, min, max=null) =
    described(schema('integer'), doc) + { format: 'int32', minimum: min }
    + (if max == null then {} else { maximum: max });
  local fields(fs) = schema('object') + { properties: fs };
  local open(doc) =
    described(schema('object'), doc) + { 'x-kubernetes-preserve-unknown-fields': true };
  local required(props, names) = props + { required: names };
  local openList(doc) = { type: 'array', description: doc, items: open('') };
  local serviceTypes = ['ClusterIP', 'NodePort', 'LoadBalancer'];
  local replicaSpec = fields({
    replicas: integer('How many replicas of this type', 0),
    tfReplicaType: string('MASTER, WORKER or PS') + { enum: tfjob.replicaTypes },
    tfPort: integer('The port TensorFlow listens on', 1, 65535),
    template: fields({
      metadata: open("The pods' metadata"),
      spec: open("The pods' spec, with a container named `tensorflow`"),
    }),
    // Set by the operator on a PS without a template; its Go field has no JSON name.
    IsDefaultPS: schema('boolean'),
  });
  local spec = required(fields({
    runtimeId: string("Set by the operator: the suffix of the job's resources"),
    replicaSpecs: {
      description: "The job's replica sets: MASTER, WORKER and PS",
      type: 'array',
      minItems: 1,
      items: replicaSpec,
    },
    tensorboard: fields({
      logDir: string('Where the job writes its TensorBoard logs'),
      volumes: openList('Volumes TensorBoard needs to read the logs'),
      volumeMounts: openList('Where TensorBoard mounts them'),
      serviceType: string("The type of TensorBoard's Service") + { enum: serviceTypes },
    }),
    terminationPolicy: fields({
      chief: fields({
        replicaName: string('The replica type whose exit ends the job'),
        replicaIndex: integer('The index of that replica', 0),
      }),
    }),
    schedulerName: string("The scheduler of the job's pods"),
  }), ['replicaSpecs']);
  {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: common.meta('%s.%s' % [tfjob.plural, tfjob.group], null,
                          common.labels('tf-job-operator', component)),
    spec: {
      group: tfjob.group,
      names: {
        kind: tfjob.kind,
        listKind: tfjob.kind + 'List',
        plural: tfjob.plural,
        singular: tfjob.singular,
      },
      scope: 'Namespaced',
      versions: [{
        name: tfjob.version,
        served: true,
        storage: true,
        schema: {
          openAPIV3Schema: required(fields({
            apiVersion: string(''),
            kind: string(''),
            metadata: schema('object'),
            spec: spec,
            status: open('Written by the operator'),
          }), ['spec']),
        },
      }],
    },
  };

// The disks served by the app's `nfs` components in `namespace`, in component order, each once.
// Disks served elsewhere cannot be mounted, so they are skipped with a warning; invalid ones are
// skipped too, since their own component fails to render.
local nfsComponentDisks(env, namespace) =
  local served = [
    local theirs = if std.objectHas(c.params, 'disks') then c.params.disks else [];
    local theirNamespace =
      if std.objectHas(c.params, 'namespace') then c.params.namespace else env.namespace;
    if !common.validDisks(theirs) then []
    else if theirNamespace != namespace && theirs != [] then
      std.trace('warning: not mounting the disks of component `%s` (%s): they are served in '
                % [c.name, std.join(', ', theirs)] + 'namespace `%s` and the notebooks run in `%s`'
                % [theirNamespace, namespace], [])
    else theirs
    for c in env.components
    if c.prototype == 'nfs'
  ];
  std.foldl(function(acc, d) if std.member(acc, d) then acc else acc + [d],
            std.flattenArrays(served), []);

{
  name: 'core',
  params: {
    name: null,
    namespace: null,
    disks: [],
    cloud: '',
    tfJobImage: 'gcr.io/tf-on-k8s-dogfood/tf_operator:v20171214-0bd02ac',
    jupyterHubImage: 'gcr.io/kubeflow/jupyterhub:1.0',
    jupyterHubServiceType: 'ClusterIP',
    notebookImage: 'gcr.io/kubeflow/tensorflow-notebook-cpu',
  } + common.nfsParams,
  required: ['name'],

  generate(params, component, env)::
    local p = $.params + params;
    local name = common.dns1123Label('name', p.name);
    local namespace = common.namespace(p, env);
    local cloud = common.oneOf('cloud', p.cloud, common.clouds);
    local disks = common.checkDisks('disks', p.disks);
    local diskSize = common.checkQuantity('diskSize', p.diskSize);
    // Checked even when no disk uses them, as the prototype does.
    assert std.isString(name) && std.isString(diskSize);
    local mounted = if disks == [] then nfsComponentDisks(env, namespace) else disks;
    hub(namespace, component, p.jupyterHubImage,
        common.oneOf('jupyterHubServiceType', p.jupyterHubServiceType, common.serviceTypes),
        p.notebookImage, mounted)
    + operator(namespace, component, p.tfJobImage, cloud)
    + [tfjobCrd(component)]
    + common.nfsServers(name, namespace, component, disks, cloud, p.nfsImage, diskSize),
}
