// placeholder until the remote worker lands
namespace cacheon::remote {}
