// SPDX-License-Identifier: GPL-2.0-only
/*
 * mdev_vgpu_sim: a test driver for mdev-reconciler's test bed. It registers mdev parents named like PCI
 * addresses in a device class named "nvidia", so their types read nvidia-222, nvidia-228, ... as on a host
 * with NVIDIA's vGPU driver, and it enforces what a time-sliced vGPU enforces: one type per parent (once a
 * type has a device, every other type reads 0 available instances).
 *
 * Written for the mdev API of Linux 6.1 (see samples/vfio-mdev/mtty.c of the same kernel).
 *
 * Control file /sys/class/nvidia/control, one command per write:
 *   add <name> <t4|v100>    register a parent (the mdev core emits MDEV_STATE=registered)
 *   add-gpu <name>          a GPU that is no mdev parent itself: the physical function of SR-IOV VFs
 *   add-vf <name> <gpu>     an A16-like virtual function of that GPU in mdev mode (vGPU 16 and older): a
 *                           parent with a physfn link to the GPU, holding one device at most, with the
 *                           GPU's one type and its max_instance counted over all its functions
 *   remove <name>           unregister it, removing its devices (MDEV_STATE=unregistered)
 *   fail-create <name> <errno> [count]   the next count creates on the parent fail with -errno
 *   hold <name>             make creates and removes on the parent fail with ENODEV ("going away")
 *   release <name>          undo hold
 *   slow <name> <ms>        every create on the parent takes ms milliseconds (0: as fast as it can)
 *
 * It also simulates NVIDIA's vendor-specific mode (vGPU 17+ on kernel 6.8+) on the SR-IOV virtual
 * functions of any PCI device that has them (the test bed uses QEMU's nvme with sriov_max_vfs): each
 * function gets an "nvidia" directory with creatable_vgpu_types, current_vgpu_type, gpu_instance_id,
 * placement_id, vgpu_params and warm_update, following the driver's rules: one vGPU size per GPU (the
 * lists of the other functions collapse to that size, and show the header only once the GPU is full), a
 * configured function lists nothing, a number not listed fails with EINVAL, a configured function must be
 * cleared (0) first (EBUSY), and writes emit no uevent.
 *   vendor-enable <PF> <n>  enable n virtual functions (as sriov-manage -e does) and give each its
 *                           nvidia directory, then a "change" uevent (the real driver binds them)
 *   vendor-disable <PF>     remove the directories and the functions (a driver unload)
 *   refuse-clear <VF> <n>   the next n writes of 0 to the function fail with EPERM (a VM just exited)
 *   vendor-mig <PF> <on> <a> <b>  the GPU's MIG mode (1 on, 0 off) and how many MIG GPU instances of
 *                           profile 19 (a) and profile 14 (b) it has, as NVML has them: the project's fake
 *                           NVML (contrib/nvml-fake, model sim-mig) writes this after every change. While MIG
 *                           mode is on a free function lists the MIG-backed types (SIM-1-2C of profile 19,
 *                           SIM-2-4C of profile 14) whose profile has an instance no vGPU takes yet, and no
 *                           time-sliced type; while it is off, no MIG-backed type. A MIG-backed type with no
 *                           free instance fails with EIO, as NVIDIA's driver does.
 * A function a VM holds (bound to vfio-pci and opened, as QEMU opens it) is not cleared either: EPERM, as
 * NVIDIA's driver refuses it.
 *
 * /sys/class/nvidia/refused counts the writes refused with EPERM so far, so a test proves a refusal happened.
 *
 * A PCI driver named "nvidia" with no device table binds only what is handed to it (driver_override), so
 * a physical function can be "bound to nvidia" as NVIDIA's GPUs are when sriov-manage -e is due; removing
 * a device from it disables its functions, as the real driver's unload does.
 */
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/kernel.h>
#include <linux/list.h>
#include <linux/mdev.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/vfio.h>
#include <linux/vfio_pci_core.h>

#define SIM_CLASS_NAME "nvidia"

struct sim_type_spec {
	const char *id;		/* the part after "nvidia-" */
	const char *name;
	unsigned int max;
	unsigned int heads;
	unsigned int framebuffer_mb;
};

static const struct sim_type_spec t4_types[] = {
	{ "222", "GRID T4-1B", 16, 4, 1024 }, { "223", "GRID T4-2B", 8, 4, 2048 },
	{ "224", "GRID T4-2B4", 8, 4, 2048 }, { "228", "GRID T4-8A", 2, 1, 8192 },
	{ "229", "GRID T4-16A", 1, 1, 16384 }, { "230", "GRID T4-1Q", 16, 4, 1024 },
};

static const struct sim_type_spec a16_types[] = {
	{ "690", "NVIDIA A16-1Q", 16, 4, 1024 }, { "691", "NVIDIA A16-2Q", 8, 4, 2048 },
	{ "692", "NVIDIA A16-4Q", 4, 4, 4096 }, { "693", "NVIDIA A16-8Q", 2, 4, 8192 },
	{ "694", "NVIDIA A16-16Q", 1, 4, 16384 },
};

static const struct sim_type_spec v100_types[] = {
	{ "105", "GRID V100X-1B", 16, 4, 1024 }, { "106", "GRID V100X-2Q", 8, 4, 2048 },
	{ "108", "GRID V100X-8Q", 2, 4, 8192 },
};

struct sim_type {
	struct mdev_type type;
	const struct sim_type_spec *spec;
	char sysfs_name[8];
};

struct sim_parent {
	struct device dev;
	struct mdev_parent parent;
	struct list_head next;
	struct mutex lock;		/* protects the counters below */
	struct sim_type *types;
	struct mdev_type **type_list;
	unsigned int nr_types;
	int active_type;		/* index of the type that has devices, or -1 */
	unsigned int devices;
	int fail_create_errno;
	unsigned int fail_create_count;
	unsigned int slow_ms;
	bool held;
	/* A virtual function's GPU (whose lock, active type and device count are the GPU-wide ones), or NULL. */
	struct sim_parent *gpu;
	/* A GPU: a plain device, not an mdev parent. */
	bool is_gpu;
};

/* The parent whose lock, active type and device count a type's rules use: a function's GPU, or itself. */
static struct sim_parent *sim_counter(struct sim_parent *parent)
{
	return parent->gpu ? parent->gpu : parent;
}

struct sim_state {
	struct vfio_device vdev;
	struct sim_parent *parent;
	int type_index;
};

static struct class *sim_class;
static LIST_HEAD(sim_parents);
static DEFINE_MUTEX(sim_parents_lock);
static struct mdev_driver sim_driver;

static struct sim_type *to_sim_type(struct mdev_type *mtype)
{
	return container_of(mtype, struct sim_type, type);
}

static struct sim_parent *to_sim_parent(struct mdev_parent *parent)
{
	return container_of(parent, struct sim_parent, parent);
}

static int sim_init_dev(struct vfio_device *vdev)
{
	struct sim_state *state = container_of(vdev, struct sim_state, vdev);
	struct mdev_device *mdev = to_mdev_device(vdev->dev);
	struct sim_parent *parent = to_sim_parent(mdev->type->parent);
	struct sim_type *type = to_sim_type(mdev->type);
	int index = type - parent->types;
	unsigned int slow_ms;
	int ret = 0;

	struct sim_parent *counter = sim_counter(parent);

	mutex_lock(&counter->lock);
	slow_ms = parent->slow_ms;
	mutex_unlock(&counter->lock);
	if (slow_ms)
		msleep(slow_ms);
	mutex_lock(&counter->lock);
	if (parent->fail_create_count > 0) {
		parent->fail_create_count--;
		ret = -parent->fail_create_errno;
	} else if (parent->gpu && parent->devices >= 1) {
		ret = -ENOSPC;	/* a virtual function holds one device */
	} else if (counter->active_type >= 0 && counter->active_type != index) {
		ret = -ENOSPC;	/* one type per GPU */
	} else if (counter->devices >= type->spec->max) {
		ret = -ENOSPC;
	} else {
		counter->active_type = index;
		counter->devices++;
		if (parent->gpu)
			parent->devices++;
		state->parent = parent;
		state->type_index = index;
	}
	mutex_unlock(&counter->lock);
	return ret;
}

static void sim_release_dev(struct vfio_device *vdev)
{
	struct sim_state *state = container_of(vdev, struct sim_state, vdev);
	struct sim_parent *parent = state->parent;

	if (parent) {
		struct sim_parent *counter = sim_counter(parent);

		mutex_lock(&counter->lock);
		if (parent->gpu)
			parent->devices--;
		if (--counter->devices == 0)
			counter->active_type = -1;
		mutex_unlock(&counter->lock);
	}
	vfio_free_device(vdev);
}

static const struct vfio_device_ops sim_dev_ops = {
	.name = "vfio-vgpu-sim",
	.init = sim_init_dev,
	.release = sim_release_dev,
};

static int sim_probe(struct mdev_device *mdev)
{
	struct sim_state *state;
	int ret;

	state = vfio_alloc_device(sim_state, vdev, &mdev->dev, &sim_dev_ops);
	if (IS_ERR(state))
		return PTR_ERR(state);
	ret = vfio_register_emulated_iommu_dev(&state->vdev);
	if (ret) {
		vfio_put_device(&state->vdev);
		return ret;
	}
	dev_set_drvdata(&mdev->dev, state);
	return 0;
}

static void sim_remove(struct mdev_device *mdev)
{
	struct sim_state *state = dev_get_drvdata(&mdev->dev);

	vfio_unregister_group_dev(&state->vdev);
	vfio_put_device(&state->vdev);
}

static unsigned int sim_get_available(struct mdev_type *mtype)
{
	struct sim_type *type = to_sim_type(mtype);
	struct sim_parent *parent = to_sim_parent(mtype->parent);
	int index = type - parent->types;
	struct sim_parent *counter = sim_counter(parent);
	unsigned int available;

	mutex_lock(&counter->lock);
	if (counter->active_type >= 0 && counter->active_type != index)
		available = 0;
	else if (parent->gpu)
		available = parent->devices == 0 && counter->devices < type->spec->max ? 1 : 0;
	else
		available = type->spec->max - counter->devices;
	mutex_unlock(&counter->lock);
	return available;
}

static ssize_t sim_show_description(struct mdev_type *mtype, char *buf)
{
	const struct sim_type_spec *spec = to_sim_type(mtype)->spec;

	return sysfs_emit(buf, "num_heads=%u, frl_config=60, framebuffer=%uM, max_resolution=5120x2880, max_instance=%u\n",
			  spec->heads, spec->framebuffer_mb, spec->max);
}

static struct mdev_driver sim_driver = {
	.device_api = VFIO_DEVICE_API_PCI_STRING,
	.driver = {
		.name = "vgpu_sim",
		.owner = THIS_MODULE,
		.mod_name = KBUILD_MODNAME,
	},
	.probe = sim_probe,
	.remove = sim_remove,
	.get_available = sim_get_available,
	.show_description = sim_show_description,
};

static void sim_parent_release(struct device *dev)
{
	struct sim_parent *parent = container_of(dev, struct sim_parent, dev);

	kfree(parent->type_list);
	kfree(parent->types);
	kfree(parent);
}

static struct sim_parent *sim_find(const char *name)
{
	struct sim_parent *parent;

	list_for_each_entry(parent, &sim_parents, next)
		if (!strcmp(dev_name(&parent->dev), name))
			return parent;
	return NULL;
}

static int sim_add(const char *name, const char *profile, struct sim_parent *gpu)
{
	const struct sim_type_spec *specs;
	struct sim_parent *parent;
	unsigned int i, count;
	int ret;

	if (!strcmp(profile, "t4")) {
		specs = t4_types;
		count = ARRAY_SIZE(t4_types);
	} else if (!strcmp(profile, "v100")) {
		specs = v100_types;
		count = ARRAY_SIZE(v100_types);
	} else if (!strcmp(profile, "a16") && gpu) {
		specs = a16_types;
		count = ARRAY_SIZE(a16_types);
	} else if (!strcmp(profile, "gpu")) {
		specs = NULL;
		count = 0;
	} else {
		return -EINVAL;
	}
	if (sim_find(name))
		return -EEXIST;
	parent = kzalloc(sizeof(*parent), GFP_KERNEL);
	if (!parent)
		return -ENOMEM;
	parent->types = kcalloc(count, sizeof(*parent->types), GFP_KERNEL);
	parent->type_list = kcalloc(count, sizeof(*parent->type_list), GFP_KERNEL);
	if (!parent->types || !parent->type_list) {
		kfree(parent->types);
		kfree(parent->type_list);
		kfree(parent);
		return -ENOMEM;
	}
	mutex_init(&parent->lock);
	parent->active_type = -1;
	parent->nr_types = count;
	parent->is_gpu = !specs;
	for (i = 0; i < count; i++) {
		parent->types[i].spec = &specs[i];
		strscpy(parent->types[i].sysfs_name, specs[i].id, sizeof(parent->types[i].sysfs_name));
		parent->types[i].type.sysfs_name = parent->types[i].sysfs_name;
		parent->types[i].type.pretty_name = specs[i].name;
		parent->type_list[i] = &parent->types[i].type;
	}
	parent->dev.class = sim_class;
	parent->dev.release = sim_parent_release;
	dev_set_name(&parent->dev, "%s", name);
	ret = device_register(&parent->dev);
	if (ret) {
		put_device(&parent->dev);
		return ret;
	}
	if (parent->is_gpu) {
		list_add_tail(&parent->next, &sim_parents);
		return 0;
	}
	if (gpu) {
		/* As a PCI virtual function's physfn link: what groups functions under their GPU. */
		ret = sysfs_create_link(&parent->dev.kobj, &gpu->dev.kobj, "physfn");
		if (ret) {
			device_unregister(&parent->dev);
			return ret;
		}
		get_device(&gpu->dev);
		parent->gpu = gpu;
	}
	ret = mdev_register_parent(&parent->parent, &parent->dev, &sim_driver, parent->type_list, count);
	if (ret) {
		if (gpu) {
			sysfs_remove_link(&parent->dev.kobj, "physfn");
			put_device(&gpu->dev);
		}
		device_unregister(&parent->dev);
		return ret;
	}
	list_add_tail(&parent->next, &sim_parents);
	return 0;
}

static void sim_remove_parent(struct sim_parent *parent)
{
	struct sim_parent *gpu = parent->gpu;

	list_del(&parent->next);
	if (parent->is_gpu) {
		device_unregister(&parent->dev);
		return;
	}
	if (parent->held)
		up_write(&parent->parent.unreg_sem);
	mdev_unregister_parent(&parent->parent);
	if (gpu)
		sysfs_remove_link(&parent->dev.kobj, "physfn");
	device_unregister(&parent->dev);
	if (gpu)
		put_device(&gpu->dev);
}

/* Vendor-specific mode. */

struct vendor_type {
	unsigned int id;
	const char *name;
	unsigned int size_gb;
	int profile;	/* the MIG GPU-instance profile of a MIG-backed type; -1: time-sliced */
};

/* An 8 GB GPU; with MIG mode on, the two MIG-backed types. */
static const struct vendor_type vendor_types[] = {
	{ 2001, "NVIDIA SIM-1Q", 1, -1 }, { 2002, "NVIDIA SIM-2Q", 2, -1 }, { 2003, "NVIDIA SIM-4Q", 4, -1 },
	{ 2004, "NVIDIA SIM-8Q", 8, -1 }, { 2005, "NVIDIA SIM-2B", 2, -1 },
	{ 2011, "NVIDIA SIM-1-2C", 0, 19 }, { 2012, "NVIDIA SIM-2-4C", 0, 14 },
};
#define VENDOR_FRAMEBUFFER_GB 8

/* MIG mode and GPU instances of a GPU, by the physical function's name (vendor-mig). */
struct vendor_mig {
	char pf[16];
	bool enabled;
	unsigned int instances19, instances14;
};
static struct vendor_mig vendor_migs[4];

struct vendor_function {
	struct kobject kobj;
	struct pci_dev *vf;
	struct pci_dev *pf;
	struct list_head next;
	unsigned int current_type;	/* 0: none */
	unsigned int refuse_clears;
};

static LIST_HEAD(vendor_functions);
static DEFINE_MUTEX(vendor_lock);	/* the list, every function's state and the count below */
static unsigned int vendor_refused;	/* writes refused with EPERM so far */

static const struct vendor_type *vendor_type(unsigned int id)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vendor_types); i++)
		if (vendor_types[i].id == id)
			return &vendor_types[i];
	return NULL;
}

/* The MIG state of pf, or NULL while none was set (MIG mode off). Called with vendor_lock held. */
static struct vendor_mig *vendor_mig_of(struct pci_dev *pf)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(vendor_migs); i++)
		if (!strcmp(vendor_migs[i].pf, pci_name(pf)))
			return &vendor_migs[i];
	return NULL;
}

/* Whether a MIG-backed type can be written to fn now: its profile has an instance no vGPU of pf takes. */
static bool vendor_mig_creatable(struct vendor_function *fn, const struct vendor_type *type, const struct vendor_mig *mig)
{
	struct vendor_function *other;
	unsigned int taken = 0;

	list_for_each_entry(other, &vendor_functions, next) {
		const struct vendor_type *configured;

		if (other->pf != fn->pf || !other->current_type)
			continue;
		configured = vendor_type(other->current_type);
		if (configured->profile == type->profile)
			taken++;
	}
	return (type->profile == 19 ? mig->instances19 : mig->instances14) > taken;
}

/* Whether type can be written to fn now. Called with vendor_lock held. */
static bool vendor_creatable(struct vendor_function *fn, const struct vendor_type *type)
{
	struct vendor_function *other;
	struct vendor_mig *mig;
	unsigned int used = 0, size = 0;

	if (fn->current_type)
		return false;
	mig = vendor_mig_of(fn->pf);
	if (mig && mig->enabled)
		return type->profile >= 0 && vendor_mig_creatable(fn, type, mig);
	if (type->profile >= 0)
		return false;
	list_for_each_entry(other, &vendor_functions, next) {
		const struct vendor_type *configured;

		if (other->pf != fn->pf || !other->current_type)
			continue;
		configured = vendor_type(other->current_type);
		used += configured->size_gb;
		size = configured->size_gb;
	}
	return type->size_gb <= VENDOR_FRAMEBUFFER_GB - used && (!size || type->size_gb == size);
}

static struct vendor_function *to_vendor_function(struct kobject *kobj)
{
	return container_of(kobj, struct vendor_function, kobj);
}

static ssize_t creatable_vgpu_types_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct vendor_function *fn = to_vendor_function(kobj);
	ssize_t length = sysfs_emit(buf, "ID    : vGPU Name\n");
	unsigned int i;

	mutex_lock(&vendor_lock);
	for (i = 0; i < ARRAY_SIZE(vendor_types); i++)
		if (vendor_creatable(fn, &vendor_types[i]))
			length += sysfs_emit_at(buf, length, "%-5u : %s\n", vendor_types[i].id, vendor_types[i].name);
	mutex_unlock(&vendor_lock);
	return length;
}

static ssize_t current_vgpu_type_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	struct vendor_function *fn = to_vendor_function(kobj);
	unsigned int current_type;

	mutex_lock(&vendor_lock);
	current_type = fn->current_type;
	mutex_unlock(&vendor_lock);
	return sysfs_emit(buf, "%u\n", current_type);
}

/* Whether a VM holds the function: bound to vfio-pci, and its VFIO device open. */
static bool vendor_function_held(struct vendor_function *fn)
{
	struct vfio_pci_core_device *core;
	bool held = false;

	device_lock(&fn->vf->dev);
	if (fn->vf->dev.driver && !strcmp(fn->vf->dev.driver->name, "vfio-pci")) {
		core = dev_get_drvdata(&fn->vf->dev);
		held = core && core->vdev.open_count > 0;
	}
	device_unlock(&fn->vf->dev);
	return held;
}

static ssize_t current_vgpu_type_store(struct kobject *kobj, struct kobj_attribute *attr, const char *buf, size_t count)
{
	struct vendor_function *fn = to_vendor_function(kobj);
	const struct vendor_type *type;
	unsigned int id;
	int ret = 0;

	bool held;

	if (kstrtouint(buf, 10, &id))
		return -EINVAL;
	held = id == 0 && vendor_function_held(fn);
	mutex_lock(&vendor_lock);
	if (id == 0) {
		if (held) {
			vendor_refused++;
			ret = -EPERM;
		} else if (fn->refuse_clears > 0) {
			fn->refuse_clears--;
			vendor_refused++;
			ret = -EPERM;
		} else {
			fn->current_type = 0;
		}
	} else if (fn->current_type) {
		ret = -EBUSY;
	} else if (!(type = vendor_type(id))) {
		ret = -EINVAL;
	} else if (!vendor_creatable(fn, type)) {
		ret = type->profile >= 0 ? -EIO : -EINVAL;
	} else {
		fn->current_type = id;
	}
	mutex_unlock(&vendor_lock);
	return ret ? ret : count;
}

static ssize_t vendor_constant_show(struct kobject *kobj, struct kobj_attribute *attr, char *buf)
{
	if (!strcmp(attr->attr.name, "gpu_instance_id"))
		return sysfs_emit(buf, "-1\n");
	if (!strcmp(attr->attr.name, "vgpu_params"))
		return sysfs_emit(buf, "\n");
	return sysfs_emit(buf, "0\n");
}

static struct kobj_attribute creatable_attribute = __ATTR_RO(creatable_vgpu_types);
static struct kobj_attribute current_attribute = __ATTR_RW(current_vgpu_type);
static struct kobj_attribute instance_attribute = __ATTR(gpu_instance_id, 0444, vendor_constant_show, NULL);
static struct kobj_attribute placement_attribute = __ATTR(placement_id, 0444, vendor_constant_show, NULL);
static struct kobj_attribute params_attribute = __ATTR(vgpu_params, 0444, vendor_constant_show, NULL);
static struct kobj_attribute warm_attribute = __ATTR(warm_update, 0444, vendor_constant_show, NULL);

static struct attribute *vendor_attrs[] = {
	&creatable_attribute.attr, &current_attribute.attr, &instance_attribute.attr, &placement_attribute.attr,
	&params_attribute.attr, &warm_attribute.attr, NULL,
};
ATTRIBUTE_GROUPS(vendor);

static void vendor_function_release(struct kobject *kobj)
{
	struct vendor_function *fn = to_vendor_function(kobj);

	pci_dev_put(fn->vf);
	kfree(fn);
}

static struct kobj_type vendor_ktype = {
	.release = vendor_function_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = vendor_groups,
};

static struct pci_dev *vendor_pci_device(const char *bdf)
{
	unsigned int domain, bus, slot, function;

	if (sscanf(bdf, "%x:%x:%x.%x", &domain, &bus, &slot, &function) != 4)
		return NULL;
	return pci_get_domain_bus_and_slot(domain, bus, PCI_DEVFN(slot, function));
}

/* Removes the nvidia directories of pf's functions (all functions with pf NULL). */
static void vendor_remove_functions(struct pci_dev *pf)
{
	struct vendor_function *fn, *next;
	LIST_HEAD(removed);

	mutex_lock(&vendor_lock);
	list_for_each_entry_safe(fn, next, &vendor_functions, next)
		if (!pf || fn->pf == pf)
			list_move(&fn->next, &removed);
	mutex_unlock(&vendor_lock);
	/* Outside the lock: kobject_del waits for reads and writes in progress, which take it. */
	list_for_each_entry_safe(fn, next, &removed, next) {
		list_del(&fn->next);
		kobject_del(&fn->kobj);
		kobject_put(&fn->kobj);
	}
}

static int vendor_enable(const char *bdf, unsigned int count)
{
	struct pci_dev *pf = vendor_pci_device(bdf), *vf = NULL;
	int ret;

	if (!pf)
		return -ENODEV;
	ret = pci_enable_sriov(pf, count);
	/* Every virtual function of pf (for_each_pci_dev holds a reference on each while it is visited). */
	for_each_pci_dev(vf) {
		struct vendor_function *fn;

		if (ret || !vf->is_virtfn || pci_physfn(vf) != pf)
			continue;
		fn = kzalloc(sizeof(*fn), GFP_KERNEL);
		if (!fn) {
			ret = -ENOMEM;
			continue;
		}
		fn->pf = pf;
		fn->vf = pci_dev_get(vf);
		ret = kobject_init_and_add(&fn->kobj, &vendor_ktype, &vf->dev.kobj, "nvidia");
		if (ret) {
			kobject_put(&fn->kobj);
			continue;
		}
		mutex_lock(&vendor_lock);
		list_add_tail(&fn->next, &vendor_functions);
		mutex_unlock(&vendor_lock);
		kobject_uevent(&vf->dev.kobj, KOBJ_CHANGE);
	}
	pci_dev_put(pf);
	return ret;
}

static int vendor_disable(const char *bdf)
{
	struct pci_dev *pf = vendor_pci_device(bdf);
	struct vendor_mig *mig;

	if (!pf)
		return -ENODEV;
	vendor_remove_functions(pf);
	pci_disable_sriov(pf);
	/* GPU instances do not outlive the functions' driver; nor does MIG state here. */
	mutex_lock(&vendor_lock);
	mig = vendor_mig_of(pf);
	if (mig)
		memset(mig, 0, sizeof(*mig));
	mutex_unlock(&vendor_lock);
	pci_dev_put(pf);
	return 0;
}

static int vendor_refuse_clears(const char *bdf, unsigned int count)
{
	struct pci_dev *vf = vendor_pci_device(bdf);
	struct vendor_function *fn;
	int ret = -ENOENT;

	if (!vf)
		return -ENODEV;
	mutex_lock(&vendor_lock);
	list_for_each_entry(fn, &vendor_functions, next)
		if (fn->vf == vf) {
			fn->refuse_clears = count;
			ret = 0;
		}
	mutex_unlock(&vendor_lock);
	pci_dev_put(vf);
	return ret;
}

/* vendor-mig: records pf's MIG mode and instances, as the fake NVML has them. */
static int vendor_set_mig(const char *bdf, unsigned int enabled, unsigned int instances19, unsigned int instances14)
{
	struct pci_dev *pf = vendor_pci_device(bdf);
	struct vendor_mig *mig;
	unsigned int i;
	int ret = 0;

	if (!pf)
		return -ENODEV;
	mutex_lock(&vendor_lock);
	mig = vendor_mig_of(pf);
	for (i = 0; !mig && i < ARRAY_SIZE(vendor_migs); i++)
		if (!vendor_migs[i].pf[0])
			mig = &vendor_migs[i];
	if (mig) {
		strscpy(mig->pf, pci_name(pf), sizeof(mig->pf));
		mig->enabled = enabled;
		mig->instances19 = instances19;
		mig->instances14 = instances14;
	} else {
		ret = -ENOSPC;
	}
	mutex_unlock(&vendor_lock);
	pci_dev_put(pf);
	return ret;
}

static ssize_t control_store(struct class *class, struct class_attribute *attr, const char *buf, size_t count)
{
	char command[16], name[32], argument[16];
	struct sim_parent *parent;
	unsigned int times = 1, enabled, instances19, instances14;
	int fields, value, ret = 0;

	fields = sscanf(buf, "%15s %31s %15s %u", command, name, argument, &times);
	if (fields < 2)
		return -EINVAL;
	if (!strcmp(command, "vendor-mig")) {
		if (sscanf(buf, "%15s %31s %u %u %u", command, name, &enabled, &instances19, &instances14) != 5 || enabled > 1)
			return -EINVAL;
		ret = vendor_set_mig(name, enabled, instances19, instances14);
		return ret ? ret : count;
	}
	if (!strcmp(command, "vendor-enable") || !strcmp(command, "refuse-clear")) {
		if (fields < 3 || kstrtoint(argument, 10, &value) || value < 0)
			return -EINVAL;
		ret = !strcmp(command, "vendor-enable") ? vendor_enable(name, value) : vendor_refuse_clears(name, value);
		return ret ? ret : count;
	}
	if (!strcmp(command, "vendor-disable")) {
		ret = vendor_disable(name);
		return ret ? ret : count;
	}
	mutex_lock(&sim_parents_lock);
	parent = sim_find(name);
	if (!strcmp(command, "add")) {
		ret = fields >= 3 ? sim_add(name, argument, NULL) : -EINVAL;
	} else if (!strcmp(command, "add-gpu")) {
		ret = parent ? -EEXIST : sim_add(name, "gpu", NULL);
	} else if (!strcmp(command, "add-vf")) {
		struct sim_parent *gpu = fields >= 3 ? sim_find(argument) : NULL;

		ret = gpu && gpu->is_gpu ? sim_add(name, "a16", gpu) : -EINVAL;
	} else if (!parent) {
		ret = -ENOENT;
	} else if (!strcmp(command, "remove")) {
		sim_remove_parent(parent);
	} else if (parent->is_gpu) {
		ret = -EINVAL;	/* a GPU without mdev types takes no other command */
	} else if (!strcmp(command, "fail-create") && fields >= 3 && !kstrtoint(argument, 10, &value) && value > 0) {
		mutex_lock(&sim_counter(parent)->lock);
		parent->fail_create_errno = value;
		parent->fail_create_count = fields >= 4 ? times : 1;
		mutex_unlock(&sim_counter(parent)->lock);
	} else if (!strcmp(command, "slow") && fields >= 3 && !kstrtoint(argument, 10, &value) && value >= 0) {
		mutex_lock(&sim_counter(parent)->lock);
		parent->slow_ms = value;
		mutex_unlock(&sim_counter(parent)->lock);
	} else if (!strcmp(command, "hold") && !parent->held) {
		/* The mdev core refuses creates and removes with ENODEV while this is held for writing. */
		down_write(&parent->parent.unreg_sem);
		parent->held = true;
	} else if (!strcmp(command, "release") && parent->held) {
		parent->held = false;
		up_write(&parent->parent.unreg_sem);
	} else {
		ret = -EINVAL;
	}
	mutex_unlock(&sim_parents_lock);
	return ret ? ret : count;
}
static CLASS_ATTR_WO(control);

static ssize_t refused_show(struct class *class, struct class_attribute *attr, char *buf)
{
	unsigned int refused;

	mutex_lock(&vendor_lock);
	refused = vendor_refused;
	mutex_unlock(&vendor_lock);
	return sysfs_emit(buf, "%u\n", refused);
}
static CLASS_ATTR_RO(refused);

static int nvidia_stub_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	return 0;
}

static void nvidia_stub_remove(struct pci_dev *pdev)
{
	vendor_remove_functions(pdev);
	pci_disable_sriov(pdev);
}

static struct pci_driver nvidia_stub_driver = {
	.name = "nvidia",
	.probe = nvidia_stub_probe,
	.remove = nvidia_stub_remove,
};

static int __init sim_init(void)
{
	int ret;

	ret = pci_register_driver(&nvidia_stub_driver);
	if (ret)
		return ret;
	ret = mdev_register_driver(&sim_driver);
	if (ret) {
		pci_unregister_driver(&nvidia_stub_driver);
		return ret;
	}
	sim_class = class_create(THIS_MODULE, SIM_CLASS_NAME);
	if (IS_ERR(sim_class)) {
		mdev_unregister_driver(&sim_driver);
		pci_unregister_driver(&nvidia_stub_driver);
		return PTR_ERR(sim_class);
	}
	ret = class_create_file(sim_class, &class_attr_control);
	if (!ret) {
		ret = class_create_file(sim_class, &class_attr_refused);
		if (ret)
			class_remove_file(sim_class, &class_attr_control);
	}
	if (ret) {
		class_destroy(sim_class);
		mdev_unregister_driver(&sim_driver);
		pci_unregister_driver(&nvidia_stub_driver);
	}
	return ret;
}

static void __exit sim_exit(void)
{
	struct sim_parent *parent, *next;

	vendor_remove_functions(NULL);
	mutex_lock(&sim_parents_lock);
	list_for_each_entry_safe(parent, next, &sim_parents, next)
		sim_remove_parent(parent);
	mutex_unlock(&sim_parents_lock);
	class_remove_file(sim_class, &class_attr_refused);
	class_remove_file(sim_class, &class_attr_control);
	class_destroy(sim_class);
	mdev_unregister_driver(&sim_driver);
	pci_unregister_driver(&nvidia_stub_driver);
}

module_init(sim_init)
module_exit(sim_exit)

MODULE_LICENSE("GPL v2");
MODULE_DESCRIPTION("mdev-reconciler test bed: NVIDIA-like vGPU mdev parents");
