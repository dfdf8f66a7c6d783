/* Private to the image part: DockerInfo's "Config", as nitro-cli stores it. */
#ifndef CARVE_IMAGE_DOCKER_INFO_H
#define CARVE_IMAGE_DOCKER_INFO_H

struct json_object;

/* The image config's "config" object as nitro-cli's DockerInfo holds it:
 * docker inspect's Config read into bollard 0.19's ImageConfig and written
 * back (aws-nitro-enclaves-cli v1.5.0 enclave_build/src/docker.rs:255-264,
 * json!(image)): only the fields ImageConfig has, each of its type; absent,
 * null or mistyped ones left out (skip_serializing_if = "Option::is_none");
 * ExposedPorts and Volumes keys mapped to {}. Keys unsorted (the caller
 * sorts). NULL for a config that is not an object. */
struct json_object *docker_info_config(struct json_object *config);

#endif
